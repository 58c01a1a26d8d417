import { injectTraceContext } from "@strata/kit";
import type { UpstreamClient, UpstreamResponse } from "../upstream/upstream-client.js";
import type { PreparedAttempt, Provider, ProviderKind, ProviderRequest, UpstreamAnswer } from "./provider.js";
import type { HostedProviderConfig } from "./providers-config.js";
import type { Secret } from "./secret.js";
import { readAnswer } from "./upstream-failures.js";

/** How a provider turns its upstream's complete (non-streamed) answer into OpenAI's shapes. */
export interface AnswerTranslation {
  /** An error answer (status >= 400) → the status and OpenAI error body the client gets. */
  error(status: number, raw: Buffer): { status: number; body: Buffer };
  /** A successful answer → the OpenAI object sent as JSON with status 200. */
  success(raw: Buffer): unknown;
}

/**
 * What every hosted provider (one configured base URL, an optional API key, no routing) shares: name
 * and retries from its configuration, and attempts addressed at that URL with the provider itself as
 * endpoint and circuit-breaker key. Subclasses say how a request is sent and its answer read.
 */
export abstract class HostedProvider implements Provider {
  abstract readonly kind: ProviderKind;
  readonly name: string;
  readonly maxRetries: number;

  constructor(
    protected readonly config: HostedProviderConfig,
    protected readonly client: Pick<UpstreamClient, "post">,
    protected readonly apiKey: Secret | undefined,
  ) {
    this.name = config.name;
    this.maxRetries = config.maxRetries;
  }

  abstract prepare(request: ProviderRequest): Promise<PreparedAttempt>;

  /** The attempt at `model`: no fallbacks of the provider's own (chains name them) and nothing to release. */
  protected attempt(model: string, send: PreparedAttempt["send"]): PreparedAttempt {
    return {
      provider: this.name,
      kind: this.kind,
      servedModel: model,
      endpointId: this.name,
      address: this.config.baseUrl,
      breakerKey: this.name,
      route: `provider=${this.name}; model=${model}`,
      fallbacks: [],
      timeoutMs: this.config.timeoutMs,
      send,
      end: () => undefined,
    };
  }

  /** The configured headers, the client's request id, the key as a bearer token and the trace context. */
  protected bearerHeaders(requestId: string): Record<string, string> {
    const headers: Record<string, string> = { ...this.config.headers, "x-request-id": requestId };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey.reveal()}`;
    injectTraceContext(headers);
    return headers;
  }

  /** Reads a complete answer and translates it; an error keeps the upstream's Retry-After. */
  protected async translatedAnswer(
    response: UpstreamResponse,
    url: string,
    translation: AnswerTranslation,
  ): Promise<UpstreamAnswer> {
    const answer = await readAnswer(response, url);
    if (answer.status >= 400) {
      return {
        kind: "json",
        ...translation.error(answer.status, answer.body),
        retryAfterMs: answer.retryAfterMs,
      };
    }
    return { kind: "json", status: 200, body: Buffer.from(JSON.stringify(translation.success(answer.body))) };
  }
}
