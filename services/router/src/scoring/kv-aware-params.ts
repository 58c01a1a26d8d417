import { z } from "zod";
import { prefixParamsSchema } from "../prefix/prefix-tracker.js";

export const kvAwareParamsSchema = z
  .object({
    prefix: prefixParamsSchema.prefault({}),
    // Cost defaults match engine-sim's model (and an 8B model on one GPU: ~10k prefill tokens/s).
    /** Prefill cost of one uncached prompt token; scaled per replica by the speed learned from Reports. */
    prefillMsPerToken: z.number().min(0).default(0.1),
    /** Fixed cost of starting a request (scheduling, first step) regardless of its length. */
    requestOverheadMs: z.number().min(0).default(5),
    /**
     * Time one request in the engine's waiting queue (`num_requests_waiting`: not yet admitted, so not
     * in our prefill queue model either) holds up those behind it. Unset: overhead + the average
     * uncached prompt tokens of recent Reports × prefillMsPerToken, so it tracks the real hit rate.
     */
    queuedRequestMs: z.number().min(0).optional(),
    /** Starting point of that average before any Report arrived. */
    initialUncachedTokens: z.number().min(0).default(512),
    /** Extra TTFT per running sequence: decodes share each engine step with the new prefill. */
    runningRequestMs: z.number().min(0).default(0.2),
    /**
     * Weight of the uncached prefill a choice adds to a replica, on top of this request's own TTFT.
     * That prefill delays the requests that reach the replica while it runs, so of two choices with
     * about the same TTFT the one computing fewer tokens is better for those that follow (and keeps a
     * prefix on one replica instead of copying it). 1 charges each computed token twice, once for this
     * request and once for the queue behind it; in the routing benchmark 0.5–2 place alike at normal
     * load, and under a 2× slower engine 1 cut multi-turn p90 TTFT by an eighth against 0.5.
     */
    prefillWorkWeight: z.number().min(0).default(1),
    /**
     * Bounded load as in CHWBL, over requests in flight: the cap is factor × mean load. It bounds
     * decode concurrency (KV use, step time), which the TTFT estimate does not see; queueing for
     * prefill the estimate already weighs.
     */
    loadFactor: z.number().min(1).default(1.5),
    /**
     * The cap never goes below this many requests. At low load the bound is a handful of requests and
     * random arrivals cross it all the time (mean 3 in flight: 5 or more about one time in five); a
     * replica runs up to its `max_num_seqs` (vLLM: 256) sequences at once, so a few more decoding
     * there costs little.
     */
    minLoadCap: z.number().min(0).default(8),
    /**
     * Each request an endpoint would carry beyond the cap is charged as this much queueing. A soft cap
     * rather than CHWBL's hard one: a request leaves the replica holding its prefix only when the
     * overload outweighs re-computing the prefix elsewhere (a 3000-token document at the defaults
     * costs 300 ms plus its weighted work, about 5 requests over the cap), and once a hot prefix has
     * spilled, the spill replica holds it too and takes the next overflow at once: hot prefixes are
     * replicated onto a few replicas, not scattered over all of them.
     */
    overCapMsPerRequest: z.number().min(0).default(100),
    /** Weight of one Report in each replica's learned prefill speed (0: trust the configured costs). */
    speedLearningWeight: z.number().min(0).max(1).default(0.05),
    /** The learned speed stays within [1 / this, this] × the configured costs. */
    maxSpeedFactor: z.number().min(1).default(4),
  })
  .strict();

export type KvAwareParams = z.input<typeof kvAwareParamsSchema>;
export type KvAwareSettings = z.output<typeof kvAwareParamsSchema>;
