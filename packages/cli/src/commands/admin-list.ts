import type { AdminClient } from "./admin-client.js";
import { type FlagValues, stringFlag, UsageError } from "./admin-command.js";

interface ListPage<T> {
  data: T[];
  has_more: boolean;
  last_id: string | null;
}

export const listOptions = { limit: { type: "string" }, after: { type: "string" } } as const;

/**
 * Every item of an admin list, following its pages; with --limit, at most that many (one page),
 * starting after --after. `pageSize` is the most the list answers at once.
 */
export async function listItems<T>(
  client: AdminClient,
  path: string,
  filters: Record<string, string | undefined>,
  flags: FlagValues,
  pageSize = 1000,
): Promise<{ items: T[]; more: string | undefined }> {
  const limit = limitFlag(flags, pageSize);
  const items: T[] = [];
  let after = stringFlag(flags, "after");
  for (;;) {
    const query = new URLSearchParams({ limit: String(limit ?? pageSize) });
    for (const [key, value] of Object.entries({ ...filters, after })) if (value) query.set(key, value);
    const page = await client.request<ListPage<T>>("GET", `${path}?${query}`);
    items.push(...page.data);
    if (!page.has_more || page.last_id === null) return { items, more: undefined };
    if (limit !== undefined) return { items, more: page.last_id };
    after = page.last_id;
  }
}

/** --limit as a whole number from 1 to `most`; undefined when it was not given. */
export function limitFlag(flags: FlagValues, most: number): number | undefined {
  const text = stringFlag(flags, "limit");
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= most))
    throw new UsageError(`--limit takes a whole number from 1 to ${most}; got "${text}"`);
  return limit;
}
