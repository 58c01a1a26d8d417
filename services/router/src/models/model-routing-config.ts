import { z } from "zod";

const name = z.string().min(1);
const positiveInt = z.coerce.number().int().positive();
const tokenCount = z.coerce.number().int().min(0);

/** A rule matches when every condition it sets holds; it needs at least one (the route's default is the catch-all). */
export const modelRuleSchema = z
  .object({
    /** Shown in the decision's reason; rules without one are named by position ("rule 2"). */
    name: name.optional(),
    tenants: z.array(name).min(1).optional(),
    /** Bounds on the prompt's estimated tokens, inclusive. */
    minPromptTokens: tokenCount.optional(),
    maxPromptTokens: tokenCount.optional(),
    /** Every key must be present in the request metadata with exactly this value. */
    metadata: z.record(z.string(), z.string()).optional(),
    /** A JavaScript regular expression tested against the prompt. */
    pattern: z.string().min(1).optional(),
    // No g or y: those make RegExp.test stateful (lastIndex), so one request would change the next's match.
    patternFlags: z
      .string()
      .regex(/^[imsuv]*$/, "use only the flags i, m, s, u, v")
      .default(""),
    tier: name,
  })
  .strict();

export const llmClassifierConfigSchema = z
  .object({
    /** Base URL of an OpenAI-compatible engine serving a small model; /v1/chat/completions is appended. */
    url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .transform((url) => url.replace(/\/+$/, "")),
    model: name,
    // The call sits in front of every classified request, so it must cost less than the gap between
    // the tiers it chooses; past this the in-process classifier decides.
    timeoutMs: positiveInt.default(300),
    apiKey: z.string().min(1).optional(),
    /** Replaces the default instructions; "Answer with one word: <labels>." is always appended. */
    instructions: z.string().min(1).optional(),
    /**
     * The tier when the LLM fails, times out or names no label. Absent, the in-process classifier
     * decides as if there were no LLM (and the route's default when it is unsure).
     */
    fallbackTier: name.optional(),
  })
  .strict();

export const classifierConfigSchema = z
  .object({
    /** JSONL of `{ "text", "label" }`; the shipped default set (labels small and large) when absent. */
    trainingFile: z.string().min(1).optional(),
    /** Below this softmax probability the route's default tier is used instead of the predicted one. */
    threshold: z.coerce.number().min(0).max(1).default(0.7),
    /** Maps classifier labels to tiers; a label not listed must itself be a tier name. */
    labels: z.record(name, name).default({}),
    // The last user turn carries the difficulty; a cap keeps prediction cost flat for long contexts.
    maxChars: positiveInt.default(2_000),
    training: z
      .object({
        epochs: positiveInt.optional(),
        learningRate: z.coerce.number().positive().optional(),
        l2: z.coerce.number().min(0).optional(),
        seed: z.coerce.number().int().optional(),
      })
      .strict()
      .prefault({}),
    llm: llmClassifierConfigSchema.optional(),
  })
  .strict();

export const tierConfigSchema = z
  .object({
    /** The served model (an endpoint's `model` or one of its aliases). */
    model: name,
    /** Tiers or served models to try, in order, when this tier's model fails. */
    fallbacks: z.array(name).default([]),
  })
  .strict();

export const routeConfigSchema = z
  .object({
    rules: z.array(modelRuleSchema).default([]),
    classifier: classifierConfigSchema.optional(),
    /** The tier when no rule matches and the classifier is absent, unsure or unavailable. */
    default: name,
    /** Tried after the chosen tier's own fallbacks. */
    fallbacks: z.array(name).default([]),
  })
  .strict();

/**
 * `models` in the router's configuration. Clients may send an alias, a tier or a route name as
 * `model`; the three share one namespace. Reference checks that need no outside knowledge run here,
 * so a bad file fails at load with the path of the field; served-model checks and classifier training
 * happen when a ModelRouter is built from it.
 */
export const modelRoutingConfigSchema = z
  .object({
    aliases: z.record(name, name).default({}),
    tiers: z.record(name, tierConfigSchema).default({}),
    routes: z.record(name, routeConfigSchema).default({}),
  })
  .strict()
  .superRefine(checkReferences);

export type ModelRoutingConfig = z.output<typeof modelRoutingConfigSchema>;
export type ModelRoutingConfigInput = z.input<typeof modelRoutingConfigSchema>;
export type RouteConfig = z.output<typeof routeConfigSchema>;
export type ModelRuleConfig = z.output<typeof modelRuleSchema>;
export type ClassifierConfig = z.output<typeof classifierConfigSchema>;
export type LlmClassifierConfig = z.output<typeof llmClassifierConfigSchema>;

type Issue = (path: (string | number)[], message: string) => void;

function checkReferences(config: ModelRoutingConfig, context: z.RefinementCtx): void {
  const issue: Issue = (path, message) => context.addIssue({ code: "custom", path, message });
  const tiers = new Set(Object.keys(config.tiers));
  const routes = new Set(Object.keys(config.routes));
  for (const alias of Object.keys(config.aliases)) {
    if (tiers.has(alias) || routes.has(alias)) {
      issue(["aliases", alias], `"${alias}" is also a ${tiers.has(alias) ? "tier" : "route"} name`);
    }
  }
  for (const route of routes) {
    if (tiers.has(route)) issue(["routes", route], `"${route}" is also a tier name`);
  }
  checkAliasCycles(config.aliases, issue);
  const isTier = (value: string) => tiers.has(value);
  const checkFallbacks = (fallbacks: string[], path: (string | number)[]) =>
    fallbacks.forEach((fallback, index) => {
      // A route needs the request to decide, and the gateway follows fallbacks without asking again.
      if (routes.has(finalTarget(config.aliases, fallback))) {
        issue([...path, index], `"${fallback}" is a route; a fallback must be a tier or a model`);
      }
    });
  for (const [tierName, tier] of Object.entries(config.tiers)) {
    checkFallbacks(tier.fallbacks, ["tiers", tierName, "fallbacks"]);
  }
  for (const [routeName, route] of Object.entries(config.routes)) {
    const path = ["routes", routeName];
    if (!isTier(route.default)) issue([...path, "default"], `unknown tier "${route.default}"`);
    checkFallbacks(route.fallbacks, [...path, "fallbacks"]);
    route.rules.forEach((rule, index) => {
      checkRule(rule, [...path, "rules", index], isTier, issue);
    });
    for (const [label, tier] of Object.entries(route.classifier?.labels ?? {})) {
      if (!isTier(tier)) issue([...path, "classifier", "labels", label], `unknown tier "${tier}"`);
    }
    const fallbackTier = route.classifier?.llm?.fallbackTier;
    if (fallbackTier !== undefined && !isTier(fallbackTier)) {
      issue([...path, "classifier", "llm", "fallbackTier"], `unknown tier "${fallbackTier}"`);
    }
  }
}

function checkRule(
  rule: ModelRuleConfig,
  path: (string | number)[],
  isTier: (name: string) => boolean,
  issue: Issue,
): void {
  if (!isTier(rule.tier)) issue([...path, "tier"], `unknown tier "${rule.tier}"`);
  const conditions = [rule.tenants, rule.minPromptTokens, rule.maxPromptTokens, rule.metadata, rule.pattern];
  if (conditions.every((condition) => condition === undefined)) {
    issue(path, "a rule needs at least one condition; the route's default is the catch-all");
  }
  if (
    rule.minPromptTokens !== undefined &&
    rule.maxPromptTokens !== undefined &&
    rule.minPromptTokens > rule.maxPromptTokens
  ) {
    issue([...path, "minPromptTokens"], "is greater than maxPromptTokens, so the rule can never match");
  }
  if (rule.pattern !== undefined) {
    try {
      new RegExp(rule.pattern, rule.patternFlags);
    } catch (error) {
      issue([...path, "pattern"], `invalid regular expression: ${(error as Error).message}`);
    }
  }
}

function checkAliasCycles(aliases: Record<string, string>, issue: Issue): void {
  for (const start of Object.keys(aliases)) {
    const chain = [start];
    let current = aliases[start];
    while (current !== undefined) {
      if (current === start) {
        issue(["aliases", start], `alias cycle: ${[...chain, start].join(" → ")}`);
        break;
      }
      // A cycle further down the chain is reported once, from an alias that is on it.
      if (chain.includes(current)) break;
      chain.push(current);
      current = aliases[current];
    }
  }
}

/** Follows aliases to the first name that is not one; callers must have rejected cycles. */
export function finalTarget(aliases: Record<string, string>, start: string): string {
  let current = start;
  const seen = new Set<string>();
  while (aliases[current] !== undefined && !seen.has(current)) {
    seen.add(current);
    current = aliases[current]!;
  }
  return current;
}
