import type { ModelRuleConfig } from "./model-routing-config.js";

/** What model routing looks at in a request: the fields of RouteRequest it needs. */
export interface ModelRequest {
  /** The model name, alias, tier or route the client sent. */
  model: string;
  tenantId?: string;
  /** The prompt as the engine will see it (chat messages rendered with the engine's template). */
  prompt?: string;
  /** Estimated prompt tokens; 0 or absent means "estimate from the prompt". */
  promptTokens?: number;
  metadata?: Readonly<Record<string, string>>;
}

export interface CompiledRule {
  /** `rule "name"` or `rule N` (1-based), for reasons. */
  readonly label: string;
  readonly tier: string;
  matches(request: ModelRequest, promptTokens: number): boolean;
}

export function compileRule(rule: ModelRuleConfig, index: number): CompiledRule {
  const tenants = rule.tenants ? new Set(rule.tenants) : undefined;
  const metadata = rule.metadata ? Object.entries(rule.metadata) : undefined;
  // Validated at load (model-routing-config.ts), so construction cannot throw here.
  const pattern = rule.pattern === undefined ? undefined : new RegExp(rule.pattern, rule.patternFlags);
  const { minPromptTokens: min, maxPromptTokens: max } = rule;
  return {
    label: rule.name === undefined ? `rule ${index + 1}` : `rule "${rule.name}"`,
    tier: rule.tier,
    // Cheapest conditions first: the regex runs only when everything else already matched.
    matches(request, promptTokens) {
      if (tenants && !tenants.has(request.tenantId ?? "")) return false;
      if (min !== undefined && promptTokens < min) return false;
      if (max !== undefined && promptTokens > max) return false;
      if (metadata?.some(([key, value]) => request.metadata?.[key] !== value)) return false;
      return pattern === undefined || pattern.test(request.prompt ?? "");
    },
  };
}

/** The gateway's estimate (about four characters per token) when the caller sent none. */
export function estimatedPromptTokens(request: ModelRequest): number {
  if (request.promptTokens !== undefined && request.promptTokens > 0) return request.promptTokens;
  return Math.ceil((request.prompt ?? "").length / 4);
}

/**
 * The text the classifiers see: the last user turn of a rendered chat, else the whole prompt; capped
 * to its last `maxChars` characters so that a long system prompt or document context neither
 * dominates the features nor the cost. The gateway renders chats with the engine's template
 * (`<|user|>\n…<|end|>`); `role: content` lines, which other callers may send, are understood too.
 */
export function classificationText(prompt: string, maxChars: number): string {
  const text = lastTemplateUserTurn(prompt) ?? lastLineUserTurn(prompt) ?? prompt;
  return text.length > maxChars ? text.slice(text.length - maxChars) : text;
}

function lastTemplateUserTurn(prompt: string): string | undefined {
  const marker = "<|user|>\n";
  const start = prompt.lastIndexOf(marker);
  if (start < 0) return undefined;
  const from = start + marker.length;
  const end = prompt.indexOf("<|end|>", from);
  return end < 0 ? prompt.slice(from) : prompt.slice(from, end);
}

function lastLineUserTurn(prompt: string): string | undefined {
  const marker = "user: ";
  const lastTurn = prompt.lastIndexOf(`\n${marker}`);
  if (lastTurn >= 0) return prompt.slice(lastTurn + 1 + marker.length);
  return prompt.startsWith(marker) ? prompt.slice(marker.length) : undefined;
}
