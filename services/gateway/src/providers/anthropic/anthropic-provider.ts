import { StrataError } from "@strata/kit";
import type { ChatCompletionRequest } from "../../openai/request-schemas.js";
import { sseEvents } from "../../upstream/sse-events.js";
import { HostedProvider } from "../hosted-provider.js";
import type { PreparedAttempt, ProviderRequest, UpstreamAnswer } from "../provider.js";
import { toAnthropicRequest } from "./anthropic-request.js";
import { type AnthropicMessage, toOpenAiCompletion, toOpenAiError } from "./anthropic-response.js";
import { anthropicToOpenAiChunks } from "./anthropic-stream.js";

/** Anthropic's Messages API, spoken to clients as OpenAI chat completions both ways, streams included. */
export class AnthropicProvider extends HostedProvider {
  readonly kind = "anthropic";

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    if (request.operation !== "chat.completions") {
      throw new StrataError(
        "invalid_request",
        "Anthropic's Messages API serves chat completions only; use /v1/chat/completions.",
      );
    }
    // Translated before anything is sent, so an unsupported field fails without an upstream call.
    const body = toAnthropicRequest(request.body as ChatCompletionRequest, {
      model: request.model,
      defaultMaxTokens: this.config.defaultMaxTokens,
    });
    return this.attempt(request.model, (signal) => this.send(body, signal));
  }

  private async send(body: Record<string, unknown>, signal: AbortSignal): Promise<UpstreamAnswer> {
    const url = `${this.config.baseUrl}/messages`;
    const headers: Record<string, string> = {
      ...this.config.headers,
      "anthropic-version": this.config.anthropicVersion,
    };
    if (this.apiKey) headers["x-api-key"] = this.apiKey.reveal();
    const response = await this.client.post({ url, body, headers, signal });
    const created = Math.floor(Date.now() / 1000);
    if (response.status < 300 && body.stream)
      return { kind: "stream", events: anthropicToOpenAiChunks(sseEvents(response.body, url), created) };
    return this.translatedAnswer(response, url, {
      error: (status, raw) => ({ status, body: toOpenAiError(status, raw) }),
      success: (raw) => toOpenAiCompletion(JSON.parse(raw.toString("utf8")) as AnthropicMessage, created),
    });
  }
}
