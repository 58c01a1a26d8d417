import { StrataError } from "@strata/kit";

/** Request headers (HTTP) and metadata keys (gRPC) through which a client steers the caches. */
export const cacheHeaders = {
  /** `on` caches this request even when it is not deterministic; `off` skips both caches; `refresh` skips the lookups and stores the new answer. */
  mode: "x-strata-cache",
  /** Seconds this request's answer may be served from the cache. */
  ttl: "x-strata-cache-ttl",
  /** `on` opts this request into the semantic cache, `off` out of it (over the tenant's setting). */
  semantic: "x-strata-semantic-cache",
  /** Cosine similarity in (0, 1] a semantic match must reach for this request. */
  threshold: "x-strata-semantic-threshold",
} as const;

/** The response header naming what the cache did: hit, semantic-hit, miss or bypass. */
export const CACHE_STATUS_HEADER = "x-strata-cache";

export interface CacheDirectives {
  mode?: "on" | "off" | "refresh";
  ttlSeconds?: number;
  semantic?: "on" | "off";
  semanticThreshold?: number;
}

/**
 * Reads the cache headers through `header` (HTTP headers or gRPC metadata); undefined when there
 * are none, which is the common case and costs four lookups. A malformed value is refused with 400
 * rather than ignored, so a client never believes it turned the cache off when it did not.
 */
export function parseCacheDirectives(
  header: (name: string) => string | undefined,
): CacheDirectives | undefined {
  const mode = header(cacheHeaders.mode);
  const ttl = header(cacheHeaders.ttl);
  const semantic = header(cacheHeaders.semantic);
  const threshold = header(cacheHeaders.threshold);
  if (mode === undefined && ttl === undefined && semantic === undefined && threshold === undefined)
    return undefined;
  const directives: CacheDirectives = {};
  if (mode !== undefined) directives.mode = oneOf(cacheHeaders.mode, mode, ["on", "off", "refresh"] as const);
  if (semantic !== undefined)
    directives.semantic = oneOf(cacheHeaders.semantic, semantic, ["on", "off"] as const);
  if (ttl !== undefined) {
    const seconds = Number(ttl.trim());
    if (!Number.isInteger(seconds) || seconds <= 0 || ttl.trim() === "")
      throw invalid(
        `The ${cacheHeaders.ttl} header must be a positive whole number of seconds; got '${ttl}'.`,
      );
    directives.ttlSeconds = seconds;
  }
  if (threshold !== undefined) {
    const value = Number(threshold.trim());
    if (!(value > 0 && value <= 1) || threshold.trim() === "")
      throw invalid(`The ${cacheHeaders.threshold} header must be a number in (0, 1]; got '${threshold}'.`);
    directives.semanticThreshold = value;
  }
  return directives;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  const value = raw.trim().toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(`The ${name} header must be one of ${allowed.join(", ")}; got '${raw}'.`);
}

function invalid(message: string): StrataError {
  return new StrataError("invalid_request", message);
}
