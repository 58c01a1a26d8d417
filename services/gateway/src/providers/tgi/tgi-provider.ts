import { sseEvents } from "../../upstream/sse-events.js";
import { HostedProvider } from "../hosted-provider.js";
import type { PreparedAttempt, ProviderRequest, UpstreamAnswer } from "../provider.js";
import { toTgiRequest } from "./tgi-request.js";
import { type TgiTranslation, tgiToOpenAiChunks, toOpenAiBody } from "./tgi-response.js";

/** TGI's native /generate and /generate_stream, spoken to clients as OpenAI chat and text completions. */
export class TgiProvider extends HostedProvider {
  readonly kind = "tgi";

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    // Translated before anything is sent, so an unsupported field fails without an upstream call.
    const body = toTgiRequest(request.operation, request.body, this.config.chatTemplate);
    const context: TgiTranslation = {
      operation: request.operation,
      model: request.model,
      logprobs: Boolean((request.body as { logprobs?: unknown }).logprobs),
      created: 0,
    };
    return this.attempt(request.model, (signal) =>
      this.send(body, Boolean(request.body.stream), request.requestId, signal, {
        ...context,
        created: Math.floor(Date.now() / 1000),
      }),
    );
  }

  private async send(
    body: Record<string, unknown>,
    stream: boolean,
    requestId: string,
    signal: AbortSignal,
    context: TgiTranslation,
  ): Promise<UpstreamAnswer> {
    const url = `${this.config.baseUrl}${stream ? "/generate_stream" : "/generate"}`;
    const headers = this.bearerHeaders(requestId);
    const response = await this.client.post({ url, body, headers, signal });
    if (response.status < 300 && stream)
      return { kind: "stream", events: tgiToOpenAiChunks(sseEvents(response.body, url), context) };
    return this.translatedAnswer(response, url, {
      error: (status, raw) => ({
        // TGI validation failures are 422; OpenAI clients expect the same mistake as a 400.
        status: status === 422 ? 400 : status,
        body: tgiError(status, raw),
      }),
      success: (raw) => {
        const promptTokens = Number(response.headers["x-prompt-tokens"]) || 0;
        return toOpenAiBody(JSON.parse(raw.toString("utf8")), promptTokens, context);
      },
    });
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
