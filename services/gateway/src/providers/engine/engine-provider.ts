import { injectTraceContext, type Logger, type ServiceClient } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { estimateTokens, renderPrompt } from "../../openai/render-prompt.js";
import type { UpstreamClient } from "../../upstream/upstream-client.js";
import { openAiBody, sendOpenAiCompatible } from "../openai/openai-upstream.js";
import type { AttemptEnd, PreparedAttempt, Provider, ProviderRequest } from "../provider.js";
import { holdUntilRouted, isScalingUp } from "./scale-from-zero.js";

export interface EngineProviderOptions {
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "route" | "report">;
  client: Pick<UpstreamClient, "post">;
  logger: Logger;
  maxRetries: number;
  /** Limit for an engine to start answering (headers; the first event of a stream; a whole body). */
  timeoutMs: number;
  /** How long a request for a model scaled to zero waits for its first replica; 0 answers 503 at once. */
  scaleFromZeroWaitMs?: number;
}

const paths = { "chat.completions": "/v1/chat/completions", completions: "/v1/completions" } as const;

const outcomes: Record<AttemptEnd["result"], routerV1.Outcome> = {
  success: routerV1.Outcome.SUCCESS,
  "upstream-error": routerV1.Outcome.UPSTREAM_ERROR,
  "connect-error": routerV1.Outcome.CONNECT_ERROR,
  timeout: routerV1.Outcome.TIMEOUT,
  cancelled: routerV1.Outcome.CANCELLED,
};

/**
 * Self-hosted engines: the router picks the model (aliases, tiers, classifier) and the replica
 * (KV-cache-aware), the gateway calls that replica's OpenAI-compatible API, and every attempt is
 * reported back so the router's load and cache state stay true.
 */
export class EngineProvider implements Provider {
  readonly name = "engine";
  readonly kind = "engine";
  readonly maxRetries: number;

  constructor(private readonly options: EngineProviderOptions) {
    this.maxRetries = options.maxRetries;
  }

  async prepare(request: ProviderRequest): Promise<PreparedAttempt> {
    const route = await this.route(request);
    const endpoint = route.endpoint!;
    const servedModel = endpoint.servedModel || route.model;
    return {
      provider: this.name,
      kind: this.kind,
      servedModel,
      endpointId: endpoint.id,
      address: endpoint.url,
      breakerKey: `engine/${endpoint.id}`,
      route: `endpoint=${endpoint.id}; model=${route.model}; strategy=${route.strategy}`,
      fallbacks: route.fallbacks,
      timeoutMs: this.options.timeoutMs,
      send: (signal) => {
        const headers: Record<string, string> = { "x-request-id": request.requestId };
        injectTraceContext(headers);
        return sendOpenAiCompatible(this.options.client, {
          url: endpoint.url + paths[request.operation],
          body: openAiBody({ ...request, model: servedModel }),
          headers,
          signal,
          stream: Boolean(request.body.stream),
        });
      },
      end: (outcome) => this.report(request.attemptId, route, outcome),
    };
  }

  private async route(request: ProviderRequest): Promise<routerV1.RouteResponse> {
    const prompt = renderPrompt(request.operation, request.body);
    const routeRequest = {
      requestId: request.attemptId,
      model: request.model,
      tenantId: request.tenantId,
      prompt,
      promptTokens: estimateTokens(prompt),
      // x-strata-route names the choice; the breakdown per candidate is for `strata route` and grpcurl.
      omitCandidates: true,
    };
    const call = () => this.options.router.route(routeRequest, { signal: request.signal });
    try {
      return await call();
    } catch (error) {
      const waitMs = this.options.scaleFromZeroWaitMs ?? 0;
      if (!isScalingUp(error) || waitMs <= 0) throw error;
      this.options.logger.info(
        { model: request.model, requestId: request.requestId, waitMs },
        "model scaled to zero: holding the request while a replica starts",
      );
      return holdUntilRouted(call, { waitMs, signal: request.signal, model: request.model });
    }
  }

  private report(attemptId: string, route: routerV1.RouteResponse, outcome: AttemptEnd): void {
    // Fire and forget: the client's answer never waits for bookkeeping.
    this.options.router
      .report({
        requestId: attemptId,
        endpointId: route.endpoint!.id,
        model: route.model,
        outcome: outcomes[outcome.result],
        promptTokens: outcome.usage.promptTokens,
        cachedTokens: outcome.usage.cachedTokens,
        completionTokens: outcome.usage.completionTokens,
        timeToFirstTokenMs: outcome.timeToFirstTokenMs,
        latencyMs: outcome.latencyMs,
      })
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, requestId: attemptId }, "route report failed"),
      );
  }
}
