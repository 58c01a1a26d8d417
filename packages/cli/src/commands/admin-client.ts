/** A failed admin call: the gateway's OpenAI-style error, or why the gateway could not be reached. */
export class AdminApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when no answer came. */
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = "AdminApiError";
  }
}

export interface AdminClientOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

/** Talks to the gateway's admin HTTP API (`/admin/v1/...`) with the admin token. */
export class AdminClient {
  constructor(private readonly options: AdminClientOptions) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const url = `${this.options.baseUrl.replace(/\/+$/, "")}/admin/v1${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new AdminApiError(unreachable(this.options.baseUrl, error), 0, "unreachable");
    }
    const text = await response.text();
    const json = parse(text);
    if (response.ok && json !== undefined) return json as T;
    const failure = (json as { error?: { message?: string; code?: string } } | undefined)?.error;
    throw new AdminApiError(
      failure?.message ??
        `The gateway answered HTTP ${response.status}: ${text.slice(0, 200) || "(empty body)"}`,
      response.status,
      failure?.code ?? "http_error",
    );
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function unreachable(baseUrl: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason =
    (error as Error).name === "TimeoutError"
      ? "no answer in time"
      : (cause?.code ?? cause?.message ?? String(error));
  return `cannot reach the gateway at ${baseUrl} (${reason}). Is it running? Set --gateway-url or STRATA_GATEWAY_URL.`;
}
