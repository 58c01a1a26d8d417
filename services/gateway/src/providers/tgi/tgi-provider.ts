import { injectTraceContext } from "@strata/kit";
import { readBodyOf, sseEvents } from "../../upstream/sse-events.js";
import { readAll, type UpstreamClient } from "../../upstream/upstream-client.js";
import type { PreparedAttempt, Provider, ProviderRequest, UpstreamAnswer } from "../provider.js";
import type { HostedProviderConfig } from "../providers-config.js";
import { parseRetryAfterMs } from "../retry-policy.js";
import type { Secret } from "../secret.js";
import { toTgiRequest } from "./tgi-request.js";
import { type TgiTranslation, tgiToOpenAiChunks, toOpenAiBody } from "./tgi-response.js";

/** TGI's native /generate and /generate_stream, spoken to clients as OpenAI chat and text completions. */
export class TgiProvider implements Provider {
  readonly kind = "tgi";
  readonly name: string;
  readonly maxRetries: number;

  constructor(
    private readonly config: HostedProviderConfig,
    private readonly client: Pick<UpstreamClient, "post">,
    private readonly apiKey: Secret | undefined,
  ) {
    this.name = config.name;
    this.maxRetries = config.maxRetries;
  }

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    // Translated before anything is sent, so an unsupported field fails without an upstream call.
    const body = toTgiRequest(request.operation, request.body, this.config.chatTemplate);
    const context: TgiTranslation = {
      operation: request.operation,
      model: request.model,
      logprobs: Boolean((request.body as { logprobs?: unknown }).logprobs),
      created: 0,
    };
    return {
      provider: this.name,
      kind: this.kind,
      servedModel: request.model,
      endpointId: this.name,
      address: this.config.baseUrl,
      breakerKey: this.name,
      route: `provider=${this.name}; model=${request.model}`,
      fallbacks: [],
      timeoutMs: this.config.timeoutMs,
      send: (signal) =>
        this.send(body, Boolean(request.body.stream), request.requestId, signal, {
          ...context,
          created: Math.floor(Date.now() / 1000),
        }),
      end: () => undefined,
    };
  }

  private async send(
    body: Record<string, unknown>,
    stream: boolean,
    requestId: string,
    signal: AbortSignal,
    context: TgiTranslation,
  ): Promise<UpstreamAnswer> {
    const url = `${this.config.baseUrl}${stream ? "/generate_stream" : "/generate"}`;
    const headers: Record<string, string> = { ...this.config.headers, "x-request-id": requestId };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey.reveal()}`;
    injectTraceContext(headers);
    const response = await this.client.post({ url, body, headers, signal });
    if (response.status < 300 && stream)
      return { kind: "stream", events: tgiToOpenAiChunks(sseEvents(response.body, url), context) };
    const failed = response.status >= 400;
    const raw = await readBodyOf(response.body, url, (source) =>
      readAll(source, failed ? 1 << 20 : undefined),
    );
    if (failed) {
      return {
        kind: "json",
        // TGI validation failures are 422; OpenAI clients expect the same mistake as a 400.
        status: response.status === 422 ? 400 : response.status,
        body: tgiError(response.status, raw),
        retryAfterMs: parseRetryAfterMs(response.headers),
      };
    }
    const promptTokens = Number(response.headers["x-prompt-tokens"]) || 0;
    const answer = toOpenAiBody(JSON.parse(raw.toString("utf8")), promptTokens, context);
    return { kind: "json", status: 200, body: Buffer.from(JSON.stringify(answer)) };
  }
}

/** TGI's `{error, error_type}` (or axum's plain-text rejection) → OpenAI's error body. A 422 is the client's 400. */
function tgiError(status: number, raw: Buffer): Buffer {
  const text = raw.toString("utf8");
  let message = text || `TGI answered HTTP ${status}.`;
  let code: string | null = null;
  try {
    const json = JSON.parse(text) as { error?: string; error_type?: string };
    message = json.error ?? message;
    code = json.error_type ?? null;
  } catch {
    // plain text
  }
  const type = status === 429 ? "rate_limit_error" : status < 500 ? "invalid_request_error" : "server_error";
  return Buffer.from(JSON.stringify({ error: { message, type, param: null, code } }));
}
