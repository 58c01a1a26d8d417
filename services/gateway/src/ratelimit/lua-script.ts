import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Lua script run by its SHA (EVALSHA), so each call sends a 40-character digest instead of the
 * source. When the server does not know it yet (restart, failover, SCRIPT FLUSH) it answers NOSCRIPT
 * and the call is repeated once with EVAL, which also caches the script for the next EVALSHA.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(
    redis: Pick<Redis, "evalsha" | "eval">,
    keys: string[],
    args: (string | number)[],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
