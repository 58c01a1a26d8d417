import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Logger, StrataError } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { InFlightTracker } from "../endpoints/in-flight-tracker.js";
import type { ModelRouter } from "../models/index.js";
import type { RouterMetrics } from "../observability/router-metrics.js";
import { buildCandidates, type Candidate } from "../scoring/candidate.js";
import type { RoutingOutcome, RoutingRequest } from "../scoring/strategy.js";
import type { StrategySource } from "../scoring/strategy-selector.js";

type RouteInput = Pick<
  routerV1.RouteRequest,
  "requestId" | "model" | "tenantId" | "prompt" | "promptTokens"
> &
  Partial<Pick<routerV1.RouteRequest, "metadata">>;
type ReportInput = Pick<routerV1.ReportRequest, "requestId" | "endpointId" | "outcome"> &
  Partial<Pick<routerV1.ReportRequest, "promptTokens" | "cachedTokens">>;
type RouteOutput = MessageInitShape<typeof routerV1.RouteResponseSchema>;
type ModelOutput = MessageInitShape<typeof routerV1.ModelInfoSchema>;

export interface RouterDeps {
  table: Pick<EndpointTable, "all" | "get" | "resolveModel" | "models">;
  inFlight: Pick<InFlightTracker, "begin" | "end" | "count">;
  strategies: StrategySource;
  /** Resolves aliases, tiers and virtual models (rules, classifier) to a served model. */
  models: Pick<ModelRouter, "resolveSync">;
  metrics: Pick<RouterMetrics, "decisions" | "reports">;
  logger: Logger;
}

/** Routing decisions and their bookkeeping, independent of the transport that carries them. */
export class Router {
  constructor(private readonly deps: RouterDeps) {
    // Strategies learn the endpoint set up front so state for endpoints that left can be dropped.
    // The table is static today; discovery will call this again on every change.
    for (const [model, endpoints] of deps.table.models()) {
      deps.strategies.forModel(model).onEndpointsChanged?.(endpoints.map((endpoint) => endpoint.config.id));
    }
  }

  route(request: RouteInput): RouteOutput {
    if (request.model === "")
      throw new StrataError("invalid_request", "model is required", { param: "model" });
    if (request.requestId === "") {
      // Without an id the request could never be reported back, and its in-flight count would leak.
      throw new StrataError("invalid_request", "request_id is required", { param: "request_id" });
    }
    // The LLM classifier is not consulted here (routing stays synchronous); rules and the in-process
    // classifier decide, and unknown names throw model_not_found.
    const resolution = this.deps.models.resolveSync({
      model: request.model,
      tenantId: request.tenantId,
      prompt: request.prompt,
      promptTokens: request.promptTokens,
      metadata: request.metadata ?? {},
    });
    const model = this.deps.table.resolveModel(resolution.model);
    if (model === undefined) {
      // Name only what the caller sent: the list of served models may be other tenants' business.
      throw new StrataError("model_not_found", `model "${request.model}" is not served`, { param: "model" });
    }
    const candidates = buildCandidates(this.deps.table.all(), model, (id) => this.deps.inFlight.count(id));
    const sameModel = candidates.filter((candidate) => candidate.endpoint.model === model);
    if (!sameModel.some((candidate) => candidate.eligible)) {
      throw new StrataError(
        "no_healthy_upstream",
        `no healthy endpoint for model "${model}" (0 of ${sameModel.length} healthy)`,
      );
    }
    const strategy = this.deps.strategies.forModel(model);
    const routingRequest: RoutingRequest = {
      requestId: request.requestId,
      model,
      tenantId: request.tenantId,
      prompt: request.prompt,
      promptTokens: request.promptTokens,
    };
    const decision = strategy.decide(routingRequest, candidates);
    // Read before the hooks run: scores and explanations are valid only until the strategy moves on.
    const { reason, details } = decision.explain();
    const scores = Array.from(decision.scores);
    const chosen = decision.chosen.endpoint;
    this.deps.inFlight.begin(request.requestId, chosen.id);
    strategy.onRouted?.(routingRequest, chosen.id);
    this.deps.metrics.decisions.inc({ model, endpoint: chosen.id, strategy: strategy.name });
    this.deps.logger.debug({ requestId: request.requestId, model, endpoint: chosen.id, reason }, "routed");
    return {
      endpoint: { id: chosen.id, url: chosen.url, servedModel: chosen.model, api: chosen.api },
      model,
      strategy: strategy.name,
      reason,
      fallbacks: [...resolution.fallbacks],
      modelReason: resolution.reason,
      candidates: candidates.map((candidate, index) =>
        toCandidateScore(candidate, scores[index]!, details[index] ?? ""),
      ),
    };
  }

  /** Idempotent: only the first Report of a routed request changes counts, health or strategy state. */
  report(report: ReportInput): void {
    if (report.requestId === "") {
      throw new StrataError("invalid_request", "request_id is required", { param: "request_id" });
    }
    this.deps.metrics.reports.inc({ outcome: outcomeLabel(report.outcome) });
    const endpointId = this.deps.inFlight.end(report.requestId);
    if (endpointId === undefined) return;
    const endpoint = this.deps.table.get(endpointId);
    if (!endpoint) return;
    if (report.outcome === routerV1.Outcome.CONNECT_ERROR) endpoint.health.connectErrorReported();
    else if (reachedEngine(report.outcome)) endpoint.health.connectSucceeded();
    this.deps.strategies.forModel(endpoint.config.model).onReport?.({
      requestId: report.requestId,
      endpointId,
      promptTokens: report.promptTokens ?? 0,
      cachedTokens: report.cachedTokens ?? 0,
      outcome: routingOutcome(report.outcome),
    });
  }

  listModels(): ModelOutput[] {
    return [...this.deps.table.models()].map(([id, endpoints]) => ({
      id,
      endpoints: endpoints.length,
      healthyEndpoints: endpoints.filter((endpoint) => endpoint.health.routable).length,
      ownedBy: "strata",
    }));
  }
}

function toCandidateScore(candidate: Candidate, score: number, detail: string) {
  return {
    endpointId: candidate.endpoint.id,
    score,
    eligible: candidate.eligible,
    reason: candidate.filteredBecause ?? detail,
    inFlight: candidate.inFlight,
    queueDepth: candidate.waiting ?? 0,
    kvCacheUsage: candidate.kvCacheUsage ?? 0,
  };
}

function reachedEngine(outcome: routerV1.Outcome): boolean {
  return outcome === routerV1.Outcome.SUCCESS || outcome === routerV1.Outcome.UPSTREAM_ERROR;
}

const outcomes: Partial<Record<routerV1.Outcome, RoutingOutcome>> = {
  [routerV1.Outcome.SUCCESS]: "success",
  [routerV1.Outcome.UPSTREAM_ERROR]: "upstream-error",
  [routerV1.Outcome.CONNECT_ERROR]: "connect-error",
  [routerV1.Outcome.CANCELLED]: "cancelled",
  [routerV1.Outcome.TIMEOUT]: "timeout",
};

function routingOutcome(outcome: routerV1.Outcome): RoutingOutcome {
  return outcomes[outcome] ?? "unknown";
}

function outcomeLabel(outcome: routerV1.Outcome): string {
  return routerV1.Outcome[outcome]?.toLowerCase() ?? "unknown";
}
