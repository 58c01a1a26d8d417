import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalOverrides, type LocalPlatform, localConfigSchema, startLocal } from "@strata/cli";
import { silentLogger } from "@strata/kit";

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
  const home = await mkdtemp(join(tmpdir(), "strata-test-"));
  const config = localConfigSchema.parse({
    home,
    gatewayPort: 0,
    gatewayGrpcPort: 0,
    routerPort: 0,
    enginePort: 0,
    logLevel: "silent",
    ...env,
  });
  const platform = await startLocal(config, silentLogger(), {
    routerHealthIntervalMs: 200,
    gateway: { http: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 } },
    ...overrides,
  });
  return {
    ...platform,
    home,
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
    async close() {
      await platform.close();
      await rm(home, { recursive: true, force: true });
    },
  };
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
