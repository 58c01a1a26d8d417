import type { CompiledRoute, CompiledTier } from "./compile-routing.js";
import { classificationText, estimatedPromptTokens, type ModelRequest } from "./route-rules.js";

export interface RouteDecision {
  readonly tier: CompiledTier;
  /** What decided, without the route's name (the caller prefixes it). */
  readonly reason: string;
}

/** What the LLM classifier said, when it was asked: a label, or why it could not answer. */
export type LlmOutcome = { label: string } | { failed: string };

/** First matching rule wins; rules are checked in configuration order. */
export function decideByRules(route: CompiledRoute, request: ModelRequest): RouteDecision | undefined {
  if (route.rules.length === 0) return undefined;
  const tokens = estimatedPromptTokens(request);
  for (const rule of route.rules) {
    if (rule.matches(request, tokens)) {
      // Rule tiers were checked against the configured tiers at load.
      return { tier: route.tiers.get(rule.tier)!, reason: `${rule.label} → tier "${rule.tier}"` };
    }
  }
  return undefined;
}

/**
 * The classifier stage, after no rule matched: the LLM's label when it gave one, else the in-process
 * model's prediction if confident enough, else the route's default tier.
 */
export function decideByClassifier(
  route: CompiledRoute,
  request: ModelRequest,
  llm: LlmOutcome | undefined,
): RouteDecision {
  const classifier = route.classifier;
  if (classifier === undefined) {
    return { tier: route.defaultTier, reason: `default tier "${route.defaultTier.name}"` };
  }
  if (llm !== undefined && "label" in llm) {
    const tier = classifier.tiers.get(llm.label);
    if (tier) return { tier, reason: `llm classifier ${llm.label} → tier "${tier.name}"` };
  }
  const failed = llm !== undefined && "failed" in llm ? llm.failed : undefined;
  if (failed !== undefined && classifier.llmFallback) {
    const tier = classifier.llmFallback;
    return { tier, reason: `llm classifier failed (${failed}) → fallback tier "${tier.name}"` };
  }
  const prefix = failed === undefined ? "" : `llm classifier failed (${failed}); `;
  const text = classificationText(request.prompt ?? "", classifier.maxChars);
  const prediction = classifier.linear.predict(text);
  const said = `classifier ${prediction.label} p=${prediction.confidence.toFixed(2)}`;
  if (prediction.confidence >= classifier.threshold) {
    const tier = classifier.tiers.get(prediction.label)!;
    return { tier, reason: `${prefix}${said} → tier "${tier.name}"` };
  }
  return {
    tier: route.defaultTier,
    reason: `${prefix}${said} < ${classifier.threshold} → default tier "${route.defaultTier.name}"`,
  };
}
