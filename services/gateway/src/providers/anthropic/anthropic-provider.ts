import { StrataError } from "@strata/kit";
import type { ChatCompletionRequest } from "../../openai/request-schemas.js";
import { readBodyOf, sseEvents } from "../../upstream/sse-events.js";
import { readAll, type UpstreamClient } from "../../upstream/upstream-client.js";
import type { PreparedAttempt, Provider, ProviderRequest, UpstreamAnswer } from "../provider.js";
import type { HostedProviderConfig } from "../providers-config.js";
import { parseRetryAfterMs } from "../retry-policy.js";
import type { Secret } from "../secret.js";
import { toAnthropicRequest } from "./anthropic-request.js";
import { type AnthropicMessage, toOpenAiCompletion, toOpenAiError } from "./anthropic-response.js";
import { anthropicToOpenAiChunks } from "./anthropic-stream.js";

/** Anthropic's Messages API, spoken to clients as OpenAI chat completions both ways, streams included. */
export class AnthropicProvider implements Provider {
  readonly kind = "anthropic";
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
      send: (signal) => this.send(body, signal),
      end: () => undefined,
    };
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
    const failed = response.status >= 400;
    const raw = await readBodyOf(response.body, url, (stream) =>
      readAll(stream, failed ? 1 << 20 : undefined),
    );
    if (failed) {
      return {
        kind: "json",
        status: response.status,
        body: toOpenAiError(response.status, raw),
        retryAfterMs: parseRetryAfterMs(response.headers),
      };
    }
    const message = JSON.parse(raw.toString("utf8")) as AnthropicMessage;
    const completion = toOpenAiCompletion(message, created);
    return { kind: "json", status: 200, body: Buffer.from(JSON.stringify(completion)) };
  }
}
