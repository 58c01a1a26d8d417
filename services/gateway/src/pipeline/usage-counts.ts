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
