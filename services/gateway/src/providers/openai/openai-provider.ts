import { HostedProvider } from "../hosted-provider.js";
import type { PreparedAttempt, ProviderRequest } from "../provider.js";
import { openAiBody, openAiPath, sendOpenAiCompatible } from "./openai-upstream.js";

/**
 * Any OpenAI-compatible upstream (OpenAI, vLLM, SGLang, Ollama, LiteLLM-style proxies): the client's
 * request goes as it came, every field passed through, with only the model replaced.
 */
export class OpenAiProvider extends HostedProvider {
  readonly kind = "openai";

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    const url = this.config.baseUrl + openAiPath(request.operation);
    return this.attempt(request.model, (signal) =>
      sendOpenAiCompatible(this.client, {
        url,
        body: openAiBody(request),
        headers: this.bearerHeaders(request.requestId),
        signal,
        stream: Boolean(request.body.stream),
      }),
    );
  }
}
