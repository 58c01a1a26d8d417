import type { Logger } from "@strata/kit";
import type { CompletionCall } from "../pipeline/completion-call.js";
import type { CachedAnswer, CacheHit, ResponseCache, UsageFields } from "../pipeline/pipeline-steps.js";
import { noUsage } from "../pipeline/usage-counts.js";
import type { PriceTable } from "../pricing/price-table.js";
import { assembleAnswer } from "./answer-assembler.js";
import { CACHE_STATUS_HEADER } from "./cache-directives.js";
import { exactKey, type SemanticQuery, semanticQuery } from "./cache-keys.js";
import type { CacheMetrics } from "./cache-metrics.js";
import type { CachePlan, CachePolicies } from "./cache-policy.js";
import { canonicalRequest } from "./canonical-request.js";
import type { ExactStore } from "./exact-store.js";
import type { SemanticCache } from "./semantic-cache.js";
import { replayEvents } from "./sse-replay.js";
import type { StoredAnswer } from "./stored-answer.js";

export interface ResponseCacheDeps {
  policies: Pick<CachePolicies, "plan">;
  exact: ExactStore;
  /** Absent when the semantic cache is disabled. */
  semantic?: SemanticCache | undefined;
  metrics: CacheMetrics;
  /** Prices the tokens a hit saved; without it the saving is reported in tokens only. */
  prices?: Pick<PriceTable, "cost"> | undefined;
  /** Answers larger than this are not stored. */
  maxEntryBytes: number;
  logger: Logger;
  /** Unix ms clock, for expiry times. */
  now?: () => number;
}

/** What a miss remembers for the store step: where its answer goes. */
interface PendingStore {
  plan: CachePlan;
  exactKey: string | undefined;
  semantic: { bucket: string; vector: Float32Array } | undefined;
}

type CacheStatus = "hit" | "semantic-hit" | "miss" | "bypass";

/**
 * The cache lookup and store steps: exact first (a key lookup), then — only for requests opted in —
 * semantic. Every answer is marked with x-strata-cache (hit, semantic-hit, miss, or bypass when
 * neither cache applied), and its UsageEvent with the status and what a hit saved. A cache that
 * fails (Redis down, embedder unreachable) counts an error and the request goes upstream.
 */
export class ResponseCacheStep implements ResponseCache {
  private readonly pending = new WeakMap<CompletionCall, PendingStore>();
  private readonly lastWarnAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly deps: ResponseCacheDeps) {
    this.now = deps.now ?? Date.now;
  }

  async lookup(call: CompletionCall, fields: UsageFields): Promise<CacheHit | undefined> {
    const { metrics } = this.deps;
    const plan = this.deps.policies.plan(call.request, call.auth.tenantId, call.cache);
    if (!plan) {
      metrics.lookup("exact", "bypass");
      metrics.lookup("semantic", "bypass");
      return this.mark(call, fields, "bypass");
    }
    const canonical = canonicalRequest(call.operation, call.request);
    const pending: PendingStore = { plan, exactKey: undefined, semantic: undefined };
    if (plan.exact !== "skip") {
      pending.exactKey = exactKey(call.auth.tenantId, canonical);
      const hit =
        plan.exact === "lookup" ? await this.lookupExact(call, fields, pending.exactKey) : undefined;
      if (hit) return hit;
    } else metrics.lookup("exact", "bypass");
    const semantic = this.deps.semantic;
    const query =
      plan.semantic !== "skip" && semantic
        ? semanticQuery(call.request, canonical, semantic.embedderId)
        : undefined;
    if (semantic && query) {
      const hit = await this.lookupSemantic(call, fields, semantic, query, pending);
      if (hit) return hit;
    } else metrics.lookup("semantic", "bypass");
    if (!pending.exactKey && !pending.semantic) return this.mark(call, fields, "bypass");
    this.pending.set(call, pending);
    return this.mark(call, fields, "miss");
  }

  private async lookupExact(
    call: CompletionCall,
    fields: UsageFields,
    key: string,
  ): Promise<CacheHit | undefined> {
    const started = performance.now();
    try {
      const stored = await this.deps.exact.get(key);
      const hit = stored && this.hit(call, fields, "hit", stored, 0);
      this.deps.metrics.lookup("exact", hit ? "hit" : "miss", (performance.now() - started) / 1000);
      return hit;
    } catch (error) {
      // Redis down or slow: the request goes upstream, and its answer is still offered for storing.
      this.deps.metrics.lookup("exact", "error", (performance.now() - started) / 1000);
      this.warn("exact", "lookup", error);
      return undefined;
    }
  }

  /** Embeds the last user turn (kept for the store step, also on a refresh) and searches its bucket. */
  private async lookupSemantic(
    call: CompletionCall,
    fields: UsageFields,
    semantic: SemanticCache,
    query: SemanticQuery,
    pending: PendingStore,
  ): Promise<CacheHit | undefined> {
    const started = performance.now();
    try {
      const vector = await semantic.embed(query.text, call.signal);
      if (vector) pending.semantic = { bucket: query.bucket, vector };
      const match =
        vector && pending.plan.semantic === "lookup"
          ? await semantic.search(call.auth.tenantId, query.bucket, vector, pending.plan.threshold)
          : undefined;
      const hit = match && this.hit(call, fields, "semantic-hit", match.answer, match.similarity);
      this.deps.metrics.lookup("semantic", hit ? "hit" : "miss", (performance.now() - started) / 1000);
      return hit;
    } catch (error) {
      this.deps.metrics.lookup("semantic", "error", (performance.now() - started) / 1000);
      if (!call.signal.aborted) this.warn("semantic", "lookup", error);
      return undefined;
    }
  }

  wantsStore(call: CompletionCall): boolean {
    return this.pending.has(call);
  }

  store(call: CompletionCall, answer: CachedAnswer): void {
    const pending = this.pending.get(call);
    if (!pending) return;
    this.pending.delete(call);
    const stored = this.toStored(call, answer);
    if (!stored) {
      if (pending.exactKey) this.deps.metrics.stored("exact", "skipped");
      if (pending.semantic) this.deps.metrics.stored("semantic", "skipped");
      return;
    }
    const now = this.now();
    if (pending.exactKey)
      this.settled("exact", this.deps.exact.set(pending.exactKey, stored, pending.plan.exactTtlMs));
    const semantic = pending.semantic;
    if (semantic && this.deps.semantic) {
      const cache = this.deps.semantic;
      // Linking a vector into the in-process HNSW graph costs a fraction of a millisecond of CPU:
      // deferred, so the answer leaves first.
      setImmediate(() =>
        this.settled(
          "semantic",
          cache.insert({
            tenantId: call.auth.tenantId,
            bucket: semantic.bucket,
            vector: semantic.vector,
            answer: stored,
            expiresAt: now + pending.plan.semanticTtlMs,
          }),
        ),
      );
    }
  }

  private hit(
    call: CompletionCall,
    fields: UsageFields,
    status: "hit" | "semantic-hit",
    stored: StoredAnswer,
    similarity: number,
  ): CacheHit | undefined {
    if (stored.operation !== call.operation) return undefined;
    let answer: CachedAnswer;
    if (call.request.stream) {
      const events = replayEvents(stored, Boolean(call.request.stream_options?.include_usage));
      if (!events) return undefined;
      // A hit spends no tokens: what it saved is reported in the cache fields instead.
      answer = { kind: "stream", events, usage: noUsage };
    } else answer = { kind: "json", body: stored.body, usage: noUsage };
    this.mark(call, fields, status);
    fields.cacheSavedPromptTokens = stored.promptTokens;
    fields.cacheSavedCompletionTokens = stored.completionTokens;
    fields.cacheSimilarity = similarity;
    fields.cacheSavedCostUsd =
      this.deps.prices?.cost(
        { promptTokens: stored.promptTokens, completionTokens: stored.completionTokens, cachedTokens: 0 },
        stored.servedModel,
        call.request.model,
      ).costUsd ?? 0;
    return { status, answer, servedModel: stored.servedModel };
  }

  private mark(call: CompletionCall, fields: UsageFields, status: CacheStatus): undefined {
    call.headers[CACHE_STATUS_HEADER] = status;
    fields.cacheStatus = status;
    return undefined;
  }

  /** The answer as both caches keep it, or undefined when it must not be kept. */
  private toStored(call: CompletionCall, answer: CachedAnswer): StoredAnswer | undefined {
    let body: Buffer;
    let servedModel: string;
    if (answer.kind === "stream") {
      const assembled = assembleAnswer(call.operation, answer.events);
      if (!assembled) return undefined;
      body = assembled.body;
      servedModel = assembled.servedModel;
    } else {
      const checked = completeAnswer(answer.body);
      if (!checked) return undefined;
      body = answer.body;
      servedModel = checked.model;
    }
    if (body.length > this.deps.maxEntryBytes) return undefined;
    return {
      operation: call.operation,
      body,
      servedModel,
      promptTokens: answer.usage.promptTokens,
      completionTokens: answer.usage.completionTokens,
      storedAt: this.now(),
    };
  }

  private settled(cache: "exact" | "semantic", storing: Promise<void>): void {
    storing.then(
      () => this.deps.metrics.stored(cache, "stored"),
      (error: unknown) => {
        this.deps.metrics.stored(cache, "error");
        this.warn(cache, "store", error);
      },
    );
  }

  /** At most one line per cache and operation every 10 s: with Redis down every request would log. */
  private warn(cache: "exact" | "semantic", operation: "lookup" | "store", error: unknown): void {
    const key = `${cache}:${operation}`;
    const now = Date.now();
    if (now - (this.lastWarnAt.get(key) ?? Number.NEGATIVE_INFINITY) < 10_000) return;
    this.lastWarnAt.set(key, now);
    this.deps.logger.warn({ err: error, cache }, `response cache ${operation} failed; serving without it`);
  }
}

/** A whole answer: parseable, with choices that all finished (not an error body relayed with 200). */
function completeAnswer(body: Buffer): { model: string } | undefined {
  try {
    const json = JSON.parse(body.toString("utf8")) as {
      model?: string;
      choices?: { finish_reason?: string | null }[];
    };
    if (!Array.isArray(json.choices) || json.choices.length === 0) return undefined;
    if (json.choices.some((choice) => !choice.finish_reason)) return undefined;
    return { model: json.model ?? "" };
  } catch {
    return undefined;
  }
}
