import { type LocalOverrides, type LocalPlatform, startThrowawayPlatform } from "@strata/cli";

export interface TestStack extends LocalPlatform {
  home: string;
  /** Authenticated JSON POST to the gateway. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** The whole platform in this process, on free ports and a throwaway home folder. */
export async function startTestStack(
  overrides: LocalOverrides = {},
  env: Record<string, unknown> = {},
): Promise<TestStack> {
  const platform = await startThrowawayPlatform({
    prefix: "strata-test-",
    settings: env,
    overrides: {
      routerHealthIntervalMs: 200,
      gateway: { http: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 } },
      ...overrides,
    },
  });
  return {
    ...platform,
    post: (path, body, headers = {}) =>
      fetch(platform.gatewayUrl + path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${platform.apiKey}`,
          "content-type": "application/json",
          ...headers,
        },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

/** A request to the admin API (`/admin/v1…`) with the platform's admin token. */
export function adminRequest(
  stack: Pick<LocalPlatform, "gatewayUrl" | "adminToken">,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${stack.gatewayUrl}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** adminRequest's status and JSON body (typed loosely: tests assert on it field by field). */
export async function adminJson(
  stack: Pick<LocalPlatform, "gatewayUrl" | "adminToken">,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await adminRequest(stack, method, path, body);
  return { status: response.status, body: await response.json() };
}

/** Polls until check returns a value (not undefined), or fails after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reads an SSE response into its data payloads. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice(6));
}
