/**
 * One router replica as the simulation drives it: the real strategy object, this router's exact
 * in-flight counts, and the engines' load as its last metrics scrape saw it (stale by up to one scrape
 * interval, as in production). It calls the hooks in the router's order: decide → onRouted → onReport.
 * Decision latency is real time around `decide`, since that is real code.
 */
import { performance } from "node:perf_hooks";
import { createCandidate, type RoutingRequest, type Strategy } from "./router-api.js";

/** What a metrics scrape of one engine returned. */
export interface ScrapedLoad {
  waiting: number;
  running: number;
  kvCacheUsage: number;
}

export interface ReplicaView {
  readonly id: string;
  readonly kvCapacityTokens: number;
  scraped: ScrapedLoad;
}

export const simModel = "sim-model";

export class SimRouter {
  readonly decisionMs: number[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly routedTo = new Map<string, string>();

  constructor(
    readonly strategy: Strategy,
    endpointIds: readonly string[],
  ) {
    strategy.onEndpointsChanged?.(endpointIds);
  }

  /** Returns the chosen replica's index in `replicas`. */
  route(request: RoutingRequest, replicas: readonly ReplicaView[]): number {
    const candidates = replicas.map((replica) =>
      createCandidate({
        id: replica.id,
        model: simModel,
        inFlight: this.inFlight.get(replica.id) ?? 0,
        waiting: replica.scraped.waiting,
        running: replica.scraped.running,
        kvCacheUsage: replica.scraped.kvCacheUsage,
        kvCapacityTokens: replica.kvCapacityTokens,
      }),
    );
    const started = performance.now();
    const decision = this.strategy.decide(request, candidates);
    this.decisionMs.push(performance.now() - started);
    const endpointId = decision.chosen.endpoint.id;
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 0) + 1);
    this.routedTo.set(request.requestId, endpointId);
    this.strategy.onRouted?.(request, endpointId);
    return replicas.findIndex((replica) => replica.id === endpointId);
  }

  /** A peer router's decision, shared over the bus: updates this router's index, not its in-flight counts. */
  peerRouted(request: RoutingRequest, endpointId: string): void {
    this.strategy.onRouted?.(request, endpointId);
  }

  /** The gateway's Report after the response, with usage and timings as the engine counted them. */
  report(
    requestId: string,
    promptTokens: number,
    cachedTokens: number,
    timings: { timeToFirstTokenMs?: number; latencyMs?: number } = {},
  ): void {
    const endpointId = this.routedTo.get(requestId);
    if (endpointId === undefined) return;
    this.routedTo.delete(requestId);
    this.inFlight.set(endpointId, (this.inFlight.get(endpointId) ?? 1) - 1);
    this.strategy.onReport?.({
      requestId,
      endpointId,
      promptTokens,
      cachedTokens,
      outcome: "success",
      ...timings,
    });
  }
}
