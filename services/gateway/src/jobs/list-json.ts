import { z } from "zod";
import type { Page } from "./job-store.js";

/** OpenAI's list envelope; clients page on with `after` = last_id while has_more. */
export function listJson<T extends { id: string }, J>(page: Page<T>, view: (item: T) => J) {
  return {
    object: "list" as const,
    data: page.items.map(view),
    first_id: page.items[0]?.id ?? null,
    last_id: page.items.at(-1)?.id ?? null,
    has_more: page.hasMore,
  };
}

/** `limit` and `after` as OpenAI's list endpoints take them. */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    limit: z.coerce
      .number()
      .int("must be a whole number")
      .min(1, `must be between 1 and ${maxLimit}`)
      .max(maxLimit, `must be between 1 and ${maxLimit}`)
      .default(defaultLimit),
    after: z.string().min(1).optional(),
  };
}
