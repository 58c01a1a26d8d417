import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Logger, StrataError } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { InFlightTracker } from "../endpoints/in-flight-tracker.js";
import type { OutlierDetector } from "../endpoints/outlier-detector.js";
import type { ModelRequest, ModelResolution, ModelRouter } from "../models/index.js";
import type { RouterMetrics } from "../observability/router-metrics.js";
import type { Candidate } from "../scoring/candidate.js";
import type { RoutingReport, RoutingRequest } from "../scoring/strategy.js";
import type { StrategySource } from "../scoring/strategy-selector.js";
import { CandidateSource } from "./route-candidates.js";
import { resolveTarget } from "./route-target.js";
import { routingOutcome } from "./routing-outcome.js";

type RouteInput = Pick<
  routerV1.RouteRequest,
  "requestId" | "model" | "tenantId" | "prompt" | "promptTokens"
> &
  Partial<Pick<routerV1.RouteRequest, "metadata" | "omitCandidates">>;
type ReportInput = Pick<routerV1.ReportRequest, "requestId" | "endpointId" | "outcome"> &
  Partial<Pick<routerV1.ReportRequest, "promptTokens" | "cachedTokens" | "timeToFirstTokenMs" | "latencyMs">>;
type RouteOutput = MessageInitShape<typeof routerV1.RouteResponseSchema>;
type ModelOutput = MessageInitShape<typeof routerV1.ModelInfoSchema>;

export interface RouterDeps {
  table: Pick<EndpointTable, "all" | "get" | "resolveModel" | "adapterBase" | "adapters" | "models">;
  inFlight: Pick<InFlightTracker, "begin" | "end" | "count">;
  strategies: StrategySource;
  /** Resolves aliases, tiers and virtual models (rules, classifiers) to a served model or adapter. */
  models: Pick<ModelRouter, "resolveSync"> & Partial<Pick<ModelRouter, "resolve" | "usesLlmFor">>;
  /** Ejects endpoints whose Reports keep failing; none, no ejection. */
  outliers?: Pick<OutlierDetector, "record" | "ejectedBecause">;
  metrics: Pick<RouterMetrics, "decisions" | "reports">;
  logger: Logger;
  /** Told of every committed decision and first Report, after the strategy (e.g. to share with peers). */
  listener?: RoutingListener;
}

/** Called on the Route and Report paths: must be as cheap as queueing the event. */
export interface RoutingListener {
  routed(request: RoutingRequest, endpointId: string): void;
  /** `model` is the served model of the endpoint that served the request. */
  reported(report: RoutingReport, model: string): void;
}

/** What the transports (gRPC, and discovery's ListModels layer over it) call on a Router. */
export type RouterCalls = Pick<
  Router,
  "route" | "routeAsync" | "waitsForClassifier" | "report" | "listModels"
>;

/** Routing decisions and their bookkeeping, independent of the transport that carries them. */
export class Router {
  private readonly candidates: CandidateSource;

  constructor(private readonly deps: RouterDeps) {
    this.candidates = new CandidateSource(deps);
    this.endpointsChanged();
  }

  /**
   * Strategies learn the endpoint set so state for endpoints that left can be dropped: called at
   * start and whenever the endpoint table changes.
   */
  endpointsChanged(): void {
    for (const [model, endpoints] of this.deps.table.models()) {
      this.deps.strategies
        .forModel(model)
        .onEndpointsChanged?.(endpoints.map((endpoint) => endpoint.config.id));
    }
  }

  /**
   * The synchronous path: rules and the in-process classifier decide the model (an LLM classifier is
   * not consulted), and unknown names throw model_not_found.
   */
  route(request: RouteInput): RouteOutput {
    checkRouteInput(request);
    return this.place(request, this.deps.models.resolveSync(modelRequest(request)));
  }

  /** Whether routing this model name may wait for an LLM classifier (routeAsync's slow path). */
  waitsForClassifier(model: string): boolean {
    return this.deps.models.usesLlmFor?.(model) ?? false;
  }

  /**
   * Like route, but a model whose route asks an LLM classifier waits for it (bounded by its timeout;
   * a slow or failed classifier falls back, never fails the request). Every other model takes the
   * synchronous path unchanged.
   */
  async routeAsync(request: RouteInput, signal?: AbortSignal): Promise<RouteOutput> {
    checkRouteInput(request);
    const { resolve } = this.deps.models;
    if (!this.waitsForClassifier(request.model) || resolve === undefined) return this.route(request);
    const resolution = await resolve.call(this.deps.models, modelRequest(request), signal);
    return this.place(request, resolution);
  }

  /** Replica choice for a resolved model: candidates, the model's strategy, bookkeeping. */
  private place(request: RouteInput, resolution: ModelResolution): RouteOutput {
    const target = resolveTarget(this.deps.table, resolution.model, request.model);
    const { model, adapter } = target;
    const { candidates, ejectionsIgnored } = this.candidates.forTarget(target);
    const strategy = this.deps.strategies.forModel(model);
    const routingRequest: RoutingRequest = {
      requestId: request.requestId,
      model,
      tenantId: request.tenantId,
      prompt: request.prompt,
      promptTokens: request.promptTokens,
      ...(adapter === undefined ? {} : { adapter }),
    };
    const decision = strategy.decide(routingRequest, candidates);
    // Read before the hooks run: scores and explanations are valid only until the strategy moves on.
    const explanation = decision.explain();
    const reason = ejectionsIgnored
      ? `${explanation.reason}; every routable endpoint is ejected, ejections ignored`
      : explanation.reason;
    // Details are built on first read; a caller that omits candidates never pays for them.
    const scored = request.omitCandidates
      ? undefined
      : { scores: Array.from(decision.scores), details: explanation.details };
    const chosen = decision.chosen.endpoint;
    this.deps.inFlight.begin(request.requestId, chosen.id);
    strategy.onRouted?.(routingRequest, chosen.id);
    this.deps.listener?.routed(routingRequest, chosen.id);
    const served = adapter ?? model;
    this.deps.metrics.decisions.inc({ model: served, endpoint: chosen.id, strategy: strategy.name });
    if (this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug(
        { requestId: request.requestId, model: served, endpoint: chosen.id, reason },
        "routed",
      );
    }
    return {
      endpoint: { id: chosen.id, url: chosen.url, servedModel: served, api: chosen.api },
      model: served,
      strategy: strategy.name,
      reason,
      fallbacks: [...resolution.fallbacks],
      modelReason: resolution.reason,
      candidates: scored
        ? candidates.map((candidate, index) =>
            toCandidateScore(candidate, scored.scores[index]!, scored.details[index] ?? ""),
          )
        : [],
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
    const routingReport: RoutingReport = {
      requestId: report.requestId,
      endpointId,
      promptTokens: report.promptTokens ?? 0,
      cachedTokens: report.cachedTokens ?? 0,
      outcome: routingOutcome(report.outcome),
      // Timings only when measured: proto3 sends 0 for "not set".
      ...(report.timeToFirstTokenMs ? { timeToFirstTokenMs: report.timeToFirstTokenMs } : {}),
      ...(report.latencyMs ? { latencyMs: report.latencyMs } : {}),
    };
    this.deps.strategies.forModel(endpoint.config.model).onReport?.(routingReport);
    this.deps.listener?.reported(routingReport, endpoint.config.model);
    this.deps.outliers?.record(endpoint, routingReport.outcome);
  }

  /** Served models, then LoRA adapters (each counting the endpoints that serve it). */
  listModels(): ModelOutput[] {
    const models = [...this.deps.table.models()];
    const info = (id: string, endpoints: readonly { health: { routable: boolean } }[]) => ({
      id,
      endpoints: endpoints.length,
      healthyEndpoints: endpoints.filter((endpoint) => endpoint.health.routable).length,
      ownedBy: "strata",
    });
    const adapters = [...this.deps.table.adapters()].sort(([a], [b]) => a.localeCompare(b));
    return [
      ...models.map(([id, endpoints]) => info(id, endpoints)),
      ...adapters.map(([adapter, base]) => {
        const serving = models
          .find(([id]) => id === base)?.[1]
          .filter((endpoint) => endpoint.config.adapters.includes(adapter));
        return info(adapter, serving ?? []);
      }),
    ];
  }
}

function checkRouteInput(request: RouteInput): void {
  if (request.model === "") throw new StrataError("invalid_request", "model is required", { param: "model" });
  if (request.requestId === "") {
    // Without an id the request could never be reported back, and its in-flight count would leak.
    throw new StrataError("invalid_request", "request_id is required", { param: "request_id" });
  }
}

function modelRequest(request: RouteInput): ModelRequest {
  return {
    model: request.model,
    tenantId: request.tenantId,
    prompt: request.prompt,
    promptTokens: request.promptTokens,
    metadata: request.metadata ?? {},
  };
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

function outcomeLabel(outcome: routerV1.Outcome): string {
  return routerV1.Outcome[outcome]?.toLowerCase() ?? "unknown";
}
