import type { FeatureExtractor } from "./hashed-features.js";
import { LinearClassifier } from "./linear-classifier.js";
import { closeInBackground, type LlmClassifier } from "./llm-classifier.js";
import {
  type ClassifierConfig,
  finalTarget,
  type LlmClassifierConfig,
  type ModelRoutingConfig,
} from "./model-routing-config.js";
import { type CompiledRule, compileRule } from "./route-rules.js";
import { defaultTrainingFile, loadTrainingFile } from "./training-data.js";

export interface CompiledTier {
  readonly name: string;
  readonly model: string;
  /** Served models, resolved from tier names, without this tier's own model. */
  readonly fallbacks: readonly string[];
}

export interface CompiledClassifier {
  readonly linear: LinearClassifier;
  readonly threshold: number;
  readonly maxChars: number;
  /** Classifier label → tier; every label the model can predict is present. */
  readonly tiers: ReadonlyMap<string, CompiledTier>;
  readonly llm: LlmClassifier | undefined;
  /** The tier when the LLM fails; undefined lets the in-process classifier decide. */
  readonly llmFallback: CompiledTier | undefined;
}

export interface CompiledRoute {
  readonly name: string;
  readonly rules: readonly CompiledRule[];
  readonly classifier: CompiledClassifier | undefined;
  readonly defaultTier: CompiledTier;
  /** Every configured tier by name, for rules. */
  readonly tiers: ReadonlyMap<string, CompiledTier>;
  /** Per chosen tier: that tier's fallbacks, then the route's, as served models without duplicates. */
  readonly fallbacksByTier: ReadonlyMap<string, readonly string[]>;
}

export type Target =
  | { kind: "tier"; tier: CompiledTier }
  | { kind: "route"; route: CompiledRoute }
  | { kind: "model"; model: string };

/** One immutable snapshot of the routing configuration; reload swaps the whole object. */
export interface CompiledRouting {
  readonly config: ModelRoutingConfig;
  /** Every name a client may send that is not a plain served model, aliases already followed. */
  readonly names: ReadonlyMap<string, { target: Target; aliasChain: readonly string[] }>;
  readonly llmClassifiers: readonly LlmClassifier[];
}

export interface CompileDeps {
  /** Whether an endpoint serves this model (by its name or an endpoint alias). */
  isServed(model: string): boolean;
  extractor: FeatureExtractor;
  createLlmClassifier(config: LlmClassifierConfig): LlmClassifier;
}

/** Thrown with every problem found, each prefixed by the path of the field at fault. */
export class RoutingCompileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "RoutingCompileError";
  }
}

/**
 * Checks what the schema cannot (served models, training data against tiers), trains the classifiers
 * and pre-resolves every name, so that resolving a request does no lookups beyond one map read.
 */
export function compileRouting(config: ModelRoutingConfig, deps: CompileDeps): CompiledRouting {
  const problems: string[] = [];
  const served: ServedCheck = (model, path) => {
    if (!deps.isServed(model)) problems.push(`${path}: model "${model}" is not served by any endpoint`);
  };
  const tiers = compileTiers(config, served);
  const llmClassifiers: LlmClassifier[] = [];
  const routes = compileRoutes(config, tiers, served, deps, problems);
  for (const route of routes.values()) if (route.classifier?.llm) llmClassifiers.push(route.classifier.llm);
  const names = compileNames(config, tiers, routes, served, deps, problems);
  if (problems.length > 0) {
    // Nothing of this snapshot will be used; release the connection pools it opened.
    closeInBackground(llmClassifiers);
    throw new RoutingCompileError(problems);
  }
  return { config, names, llmClassifiers };
}

type ServedCheck = (model: string, path: string) => void;

function compileTiers(config: ModelRoutingConfig, served: ServedCheck): Map<string, CompiledTier> {
  const tiers = new Map<string, CompiledTier>();
  for (const [name, tier] of Object.entries(config.tiers)) {
    served(tier.model, `tiers.${name}.model`);
    const fallbacks = resolveFallbacks(config, tier.fallbacks, `tiers.${name}.fallbacks`, served);
    tiers.set(name, {
      name,
      model: tier.model,
      fallbacks: fallbacks.filter((model) => model !== tier.model),
    });
  }
  return tiers;
}

function compileRoutes(
  config: ModelRoutingConfig,
  tiers: ReadonlyMap<string, CompiledTier>,
  served: ServedCheck,
  deps: CompileDeps,
  problems: string[],
): Map<string, CompiledRoute> {
  const trained = new Map<string, LinearClassifier>();
  const routes = new Map<string, CompiledRoute>();
  for (const [name, route] of Object.entries(config.routes)) {
    const routeFallbacks = resolveFallbacks(config, route.fallbacks, `routes.${name}.fallbacks`, served);
    const fallbacksByTier = new Map<string, readonly string[]>();
    for (const tier of tiers.values()) {
      const chain = [...new Set([...tier.fallbacks, ...routeFallbacks])];
      fallbacksByTier.set(
        tier.name,
        chain.filter((model) => model !== tier.model),
      );
    }
    const classifier = route.classifier
      ? compileClassifier(route.classifier, `routes.${name}.classifier`, tiers, trained, deps, problems)
      : undefined;
    routes.set(name, {
      name,
      rules: route.rules.map(compileRule),
      classifier,
      defaultTier: tiers.get(route.default)!,
      tiers,
      fallbacksByTier,
    });
  }
  return routes;
}

/** Pre-resolves every configured name; one that is also a served model would silently hide it. */
function compileNames(
  config: ModelRoutingConfig,
  tiers: ReadonlyMap<string, CompiledTier>,
  routes: ReadonlyMap<string, CompiledRoute>,
  served: ServedCheck,
  deps: CompileDeps,
  problems: string[],
): Map<string, { target: Target; aliasChain: readonly string[] }> {
  const names = new Map<string, { target: Target; aliasChain: readonly string[] }>();
  const targetOf = (name: string): Target | undefined => {
    const tier = tiers.get(name);
    if (tier) return { kind: "tier", tier };
    const route = routes.get(name);
    return route ? { kind: "route", route } : undefined;
  };
  for (const name of [...tiers.keys(), ...routes.keys()]) {
    names.set(name, { target: targetOf(name)!, aliasChain: [] });
  }
  for (const alias of Object.keys(config.aliases)) {
    const target = finalTarget(config.aliases, alias);
    const resolved = targetOf(target);
    if (resolved === undefined) served(target, `aliases.${alias}`);
    names.set(alias, {
      target: resolved ?? { kind: "model", model: target },
      aliasChain: aliasChain(config.aliases, alias),
    });
  }
  const sections = { aliases: config.aliases, tiers: config.tiers, routes: config.routes };
  for (const [section, entries] of Object.entries(sections)) {
    for (const name of Object.keys(entries)) {
      // A tier named after its own model hides nothing: both names lead to the same model.
      if (section === "tiers" && config.tiers[name]!.model === name) continue;
      if (deps.isServed(name)) {
        problems.push(`${section}.${name}: "${name}" is a served model; this name would hide it`);
      }
    }
  }
  return names;
}

function resolveFallbacks(
  config: ModelRoutingConfig,
  fallbacks: readonly string[],
  path: string,
  served: (model: string, path: string) => void,
): string[] {
  const models = fallbacks.map((fallback, index) => {
    const target = finalTarget(config.aliases, fallback);
    const tier = config.tiers[target];
    if (tier) return tier.model;
    served(target, `${path}.${index}`);
    return target;
  });
  return [...new Set(models)];
}

function compileClassifier(
  config: ClassifierConfig,
  path: string,
  tiers: ReadonlyMap<string, CompiledTier>,
  trained: Map<string, LinearClassifier>,
  deps: CompileDeps,
  problems: string[],
): CompiledClassifier | undefined {
  const file = config.trainingFile ?? defaultTrainingFile;
  // Routes that train on the same file with the same settings share one model.
  const key = JSON.stringify([file, config.training]);
  let linear = trained.get(key);
  if (linear === undefined) {
    try {
      linear = LinearClassifier.train(loadTrainingFile(file), config.training, deps.extractor);
    } catch (error) {
      problems.push(`${path}.trainingFile: ${(error as Error).message}`);
      return undefined;
    }
    trained.set(key, linear);
  }
  const labelTiers = new Map<string, CompiledTier>();
  for (const label of linear.labels) {
    const tier = tiers.get(config.labels[label] ?? label);
    if (tier) labelTiers.set(label, tier);
    else problems.push(`${path}.labels: label "${label}" of ${file} is not a tier; map it to one here`);
  }
  const llm = config.llm ? deps.createLlmClassifier(config.llm) : undefined;
  const fallback = config.llm?.fallbackTier;
  const llmFallback = fallback === undefined ? undefined : tiers.get(fallback);
  return {
    linear,
    threshold: config.threshold,
    maxChars: config.maxChars,
    tiers: labelTiers,
    llm,
    llmFallback,
  };
}

function aliasChain(aliases: Record<string, string>, start: string): string[] {
  const chain: string[] = [];
  let current = start;
  while (aliases[current] !== undefined && !chain.includes(current)) {
    chain.push(current);
    current = aliases[current]!;
  }
  return chain;
}
