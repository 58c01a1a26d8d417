/** Token counts as engines report them in OpenAI's `usage` object. */
export interface UsageCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export const noUsage: UsageCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

export function usageFrom(json: unknown): UsageCounts | undefined {
  const usage = (json as { usage?: Record<string, unknown> } | null)?.usage;
  if (!usage || typeof usage !== "object") return undefined;
  const details = usage.prompt_tokens_details as { cached_tokens?: unknown } | null | undefined;
  return {
    promptTokens: Number(usage.prompt_tokens) || 0,
    completionTokens: Number(usage.completion_tokens) || 0,
    cachedTokens: Number(details?.cached_tokens) || 0,
  };
}

const USAGE_KEY = Buffer.from('"usage":');

/**
 * The usage of a complete JSON answer, without parsing the rest of it: OpenAI and the engines write
 * `usage` after the choices, at the end, so the last `"usage":` key is found from the end and only
 * its object is parsed. A body that does not look like that is parsed whole.
 */
export function usageOfBody(body: Buffer): UsageCounts | undefined {
  const key = body.lastIndexOf(USAGE_KEY);
  if (key !== -1) {
    let start = key + USAGE_KEY.length;
    while (body[start] === 0x20 || body[start] === 0x0a || body[start] === 0x0d || body[start] === 0x09)
      start++;
    const end = body[start] === 0x7b ? closingBrace(body, start) : -1;
    if (end !== -1) {
      try {
        const usage = JSON.parse(body.toString("utf8", start, end + 1)) as Record<string, unknown>;
        // Only a usage object that is what it seems; anything else goes the long way.
        if (typeof usage.prompt_tokens === "number" || typeof usage.completion_tokens === "number")
          return usageFrom({ usage });
      } catch {
        // parsed whole below
      }
    }
  }
  try {
    return usageFrom(JSON.parse(body.toString("utf8")));
  } catch {
    return undefined;
  }
}

/** Index of the `}` closing the object that opens at `start`, skipping strings; -1 if it never closes. */
function closingBrace(body: Buffer, start: number): number {
  let depth = 0;
  for (let index = start; index < body.length; index++) {
    const byte = body[index];
    if (byte === 0x22) {
      // A string: skip to its closing quote, past escaped characters.
      for (index++; index < body.length && body[index] !== 0x22; index++) if (body[index] === 0x5c) index++;
    } else if (byte === 0x7b) depth++;
    else if (byte === 0x7d && --depth === 0) return index;
  }
  return -1;
}
