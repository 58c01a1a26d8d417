import { injectTraceContext } from "@strata/kit";
import type { UpstreamClient } from "../../upstream/upstream-client.js";
import type { PreparedAttempt, Provider, ProviderRequest } from "../provider.js";
import type { HostedProviderConfig } from "../providers-config.js";
import type { Secret } from "../secret.js";
import { openAiBody, openAiPath, sendOpenAiCompatible } from "./openai-upstream.js";

/**
 * Any OpenAI-compatible upstream (OpenAI, vLLM, SGLang, Ollama, LiteLLM-style proxies): the client's
 * request goes as it came, every field passed through, with only the model replaced.
 */
export class OpenAiProvider implements Provider {
  readonly kind = "openai";
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
    const url = this.config.baseUrl + openAiPath(request.operation);
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
        sendOpenAiCompatible(this.client, {
          url,
          body: openAiBody(request),
          headers: this.headers(request),
          signal,
          stream: Boolean(request.body.stream),
        }),
      end: () => undefined,
    };
  }

  private headers(request: ProviderRequest): Record<string, string> {
    const headers: Record<string, string> = { ...this.config.headers, "x-request-id": request.requestId };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey.reveal()}`;
    injectTraceContext(headers);
    return headers;
  }
}
