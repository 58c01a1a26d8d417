import type { z } from "zod";
import type { PreciseDeps } from "../kv-events/precise.js";
import type { Candidate } from "./candidate.js";

/** What a strategy knows about the request being routed. */
export interface RoutingRequest {
  requestId: string;
  /** Served model name after alias resolution. */
  model: string;
  tenantId: string;
  /** The prompt as the engine will see it (chat messages rendered in order). */
  prompt: string;
  /** Estimated prompt length in tokens; 0 when the caller did not estimate it. */
  promptTokens: number;
  /** LoRA adapter, when the request names one: part of the prefix identity (KubeAI hashes it in too). */
  adapter?: string;
}

/** How a routed request ended, as the caller reported it. */
export type RoutingOutcome =
  | "success"
  | "upstream-error"
  | "connect-error"
  | "cancelled"
  | "timeout"
  | "unknown";

/** What the gateway reported about a routed request, including the engine's usage numbers. */
export interface RoutingReport {
  requestId: string;
  endpointId: string;
  promptTokens: number;
  /** Prompt tokens the engine served from its prefix cache (`usage.prompt_tokens_details.cached_tokens`). */
  cachedTokens: number;
  outcome: RoutingOutcome;
  /** Time to the first token as the caller measured it; absent or 0 when unknown. */
  timeToFirstTokenMs?: number;
  /** Time to the last token; a first-token time equal to it means the answer was not streamed. */
  latencyMs?: number;
}

/**
 * A strategy's answer. `scores` is parallel to the candidates given (filtered ones included, so a
 * response can explain every endpoint). Explanations are built lazily by `explain`: a simulation
 * calls `decide` millions of times and never reads them, while the router reads them once.
 */
export interface StrategyDecision {
  chosen: Candidate;
  /** Index of `chosen` in the candidate list. */
  chosenIndex: number;
  /**
   * The number each candidate was ranked by. Pipeline strategies report their weighted score in
   * [0, 1] (higher wins); strategies with their own measure say what it is in the detail
   * (least-load: the load, lower wins; kv-aware: estimated TTFT in ms, lower wins).
   * Strategies may reuse this buffer: it and `explain()` are valid until the next `decide`.
   */
  scores: ArrayLike<number>;
  explain(): DecisionExplanation;
}

export interface DecisionExplanation {
  /** One line a person reads to understand the choice, naming the deciding factor. */
  reason: string;
  /** Parallel to the candidates: how each score was made. */
  details: readonly string[];
}

/**
 * An explanation whose per-candidate details are built on first read, so a caller that omits
 * candidates never formats them. Read them before the strategy's hooks run, like `explain()` itself.
 */
export function explanation(reason: string, details: () => readonly string[]): DecisionExplanation {
  let built: readonly string[] | undefined;
  return {
    reason,
    get details() {
      built ??= details();
      return built;
    },
  };
}

/**
 * A way to pick one endpoint among candidates. `decide` is called only when at least one candidate is
 * eligible; it must be synchronous and cheap (the routing benchmark calls it in a tight loop; p99 under
 * 1 ms with 64 endpoints). The hooks let stateful strategies learn from what happened; the router
 * calls them, a simulation must call them too, in the same order: decide → onRouted → … → onReport.
 */
export interface Strategy {
  readonly name: string;
  decide(request: RoutingRequest, candidates: readonly Candidate[]): StrategyDecision;
  /** The decision was committed: the request was sent to `endpointId`. */
  onRouted?(request: RoutingRequest, endpointId: string): void;
  /** The request finished and the gateway reported its usage. Called at most once per request. */
  onReport?(report: RoutingReport): void;
  /** The set of endpoints this strategy routes among changed (startup, discovery); drop state of the rest. */
  onEndpointsChanged?(endpointIds: readonly string[]): void;
}

/** Collaborators a factory may need; injected so tests and simulations stay deterministic. */
export interface StrategyDeps {
  /** Uniform in [0, 1). */
  random: () => number;
  /** Monotonic milliseconds, for strategies that model queues over time; performance.now() when absent. */
  now?: () => number;
  /** The KV-event block index and prompt hasher; only `precise` needs them, and fails without. */
  precise?: PreciseDeps;
}

/**
 * A strategy as registered: its parameter schema (validated at config load, so a bad value fails
 * start-up with the path of the setting) and a constructor taking the parsed parameters.
 */
export interface StrategyPlugin<Schema extends z.ZodType = z.ZodType> {
  readonly paramsSchema: Schema;
  create(params: z.output<Schema>, deps: StrategyDeps): Strategy;
}

/** Builds the plugin entry with the schema's output type flowing into `create`. */
export function strategyPlugin<Schema extends z.ZodType>(
  paramsSchema: Schema,
  create: (params: z.output<Schema>, deps: StrategyDeps) => Strategy,
): StrategyPlugin {
  return { paramsSchema, create: create as StrategyPlugin["create"] };
}
