import { type Logger, redactUrl } from "@strata/kit";
import { Redis } from "ioredis";

export interface RedisClientOptions {
  url: string;
  /** A command slower than this fails: callers on the request path never wait longer. */
  commandTimeoutMs: number;
  logger: Logger;
  /** How long start-up waits for a first connection before going on without one. */
  connectWaitMs?: number;
}

/**
 * A Redis client for the request path: while Redis is unreachable commands fail at once (no offline
 * queue, no per-command retries) so callers apply their own fallback instead of piling up requests,
 * and it reconnects in the background. Start-up waits briefly for a first connection but never fails
 * on it, so a gateway can start while Redis is still coming up.
 */
export async function connectRedis(options: RedisClientOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    connectionName: "strata-gateway",
  });
  let lastLogAt = Number.NEGATIVE_INFINITY;
  redis.on("error", (error: Error) => {
    // ioredis emits an error per failed reconnect; one line every 10 s is enough.
    if (Date.now() - lastLogAt < 10_000) return;
    lastLogAt = Date.now();
    options.logger.warn({ err: error }, "redis connection error");
  });
  const waitMs = options.connectWaitMs ?? 5_000;
  const timeout = new Promise<"timeout">((resolve) => setTimeout(resolve, waitMs, "timeout").unref());
  const outcome = await Promise.race([
    redis.connect().then(
      () => "ready" as const,
      () => "failed" as const,
    ),
    timeout,
  ]);
  if (outcome !== "ready") {
    options.logger.warn(
      { url: redactUrl(options.url) },
      "redis not reachable at start-up; retrying in the background",
    );
  }
  return redis;
}
