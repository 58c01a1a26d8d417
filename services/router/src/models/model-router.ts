import { ConfigError, StrataError, toStrataError } from "@strata/kit";
import {
  type CompileDeps,
  type CompiledRoute,
  type CompiledRouting,
  compileRouting,
  RoutingCompileError,
  type Target,
} from "./compile-routing.js";
import { FeatureExtractor } from "./hashed-features.js";
import { closeInBackground, type LlmClassifier, OpenAiLlmClassifier } from "./llm-classifier.js";
import {
  type LlmClassifierConfig,
  type ModelRoutingConfig,
  modelRoutingConfigSchema,
} from "./model-routing-config.js";
import { decideByClassifier, decideByRules, type LlmOutcome, type RouteDecision } from "./route-decision.js";
import { classificationText, type ModelRequest } from "./route-rules.js";

export interface ModelResolution {
  /** The served model to route to. */
  readonly model: string;
  /** The tier that chose it, when one did. */
  readonly tier?: string;
  /** Why this model; empty when the client named a served model. */
  readonly reason: string;
  /** Served models to try in order if `model` fails; never contains `model`. */
  readonly fallbacks: readonly string[];
}

export interface ModelRouterDeps {
  /** Whether an endpoint serves the name (its model or an endpoint alias); checked at load and per request. */
  isServed(model: string): boolean;
  /** Replaceable for tests; defaults to OpenAiLlmClassifier. */
  createLlmClassifier?(config: LlmClassifierConfig): LlmClassifier;
}

export interface ModelRouterOptions {
  /** Where the section sits in the whole configuration, prefixed to error paths. */
  path?: string;
}

export type ReloadResult = { ok: true } | { ok: false; errors: string[] };

/**
 * Resolves the model a client asked for (a served model, an alias, a tier or a routing "virtual
 * model" such as `auto`) into the served model, before replica choice. The configuration lives in one
 * immutable compiled snapshot; reload() builds a new one completely before swapping the reference, so
 * a request never sees half of two configurations and a bad file changes nothing.
 */
export class ModelRouter {
  private constructor(
    private current: CompiledRouting,
    private readonly compileDeps: CompileDeps,
    private readonly path: string,
  ) {}

  /** Throws a ConfigError listing every problem, each with the path of its field. */
  static create(input: unknown, deps: ModelRouterDeps, options: ModelRouterOptions = {}): ModelRouter {
    const compileDeps: CompileDeps = {
      isServed: (model) => deps.isServed(model),
      // One extractor (its table grows to the longest prompt seen) serves every classifier of every snapshot.
      extractor: new FeatureExtractor(),
      createLlmClassifier: deps.createLlmClassifier ?? ((config) => new OpenAiLlmClassifier(config)),
    };
    const path = options.path ?? "models";
    const result = build(input, compileDeps, path);
    if (!result.ok) throw new ConfigError(result.errors);
    return new ModelRouter(result.routing, compileDeps, path);
  }

  /** Validates and compiles first; only a fully valid configuration replaces the running one. */
  reload(input: unknown): ReloadResult {
    const result = build(input, this.compileDeps, this.path);
    if (!result.ok) return result;
    const previous = this.current;
    this.current = result.routing;
    closeInBackground(previous.llmClassifiers);
    return { ok: true };
  }

  get config(): ModelRoutingConfig {
    return this.current.config;
  }

  /** True when some route may call an LLM classifier, i.e. when resolve() can actually wait. */
  get usesLlm(): boolean {
    return this.current.llmClassifiers.length > 0;
  }

  /** Whether resolving this name may ask an LLM classifier (it names a route that has one). */
  usesLlmFor(model: string): boolean {
    const named = this.current.names.get(model);
    return named?.target.kind === "route" && named.target.route.classifier?.llm !== undefined;
  }

  /**
   * Resolves a request, asking the route's LLM classifier when it has one and no rule matched. A
   * failing or slow LLM never fails the request: the in-process classifier decides instead.
   */
  async resolve(request: ModelRequest, signal?: AbortSignal): Promise<ModelResolution> {
    const routing = this.current;
    const { target, aliasChain } = lookup(routing, request.model, this.compileDeps);
    if (target.kind !== "route") return finish(target, aliasChain, undefined);
    const route = target.route;
    const byRule = decideByRules(route, request);
    if (byRule) return finish(target, aliasChain, byRule);
    const llm = route.classifier?.llm;
    let outcome: LlmOutcome | undefined;
    if (llm && route.classifier) {
      const text = classificationText(request.prompt ?? "", route.classifier.maxChars);
      try {
        outcome = { label: await llm.classify(text, route.classifier.linear.labels, signal) };
      } catch (error) {
        const strataError = toStrataError(error);
        // A client that went away needs no model; say so rather than routing for nobody.
        if (strataError.code === "client_closed") throw strataError;
        outcome = { failed: strataError.code };
      }
    }
    return finish(target, aliasChain, decideByClassifier(route, request, outcome));
  }

  /** The same decision without the LLM classifier, for callers that cannot wait. */
  resolveSync(request: ModelRequest): ModelResolution {
    const { target, aliasChain } = lookup(this.current, request.model, this.compileDeps);
    if (target.kind !== "route") return finish(target, aliasChain, undefined);
    const decision =
      decideByRules(target.route, request) ?? decideByClassifier(target.route, request, undefined);
    return finish(target, aliasChain, decision);
  }

  async close(): Promise<void> {
    await Promise.all(this.current.llmClassifiers.map((llm) => llm.close()));
  }
}

type BuildResult = { ok: true; routing: CompiledRouting } | { ok: false; errors: string[] };

function build(input: unknown, deps: CompileDeps, path: string): BuildResult {
  const parsed = modelRoutingConfigSchema.safeParse(input ?? {});
  const at = (field: string) => (field === "" ? path : `${path}.${field}`);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => `${at(issue.path.join("."))}: ${issue.message}`);
    return { ok: false, errors };
  }
  try {
    return { ok: true, routing: compileRouting(parsed.data, deps) };
  } catch (error) {
    if (error instanceof RoutingCompileError) {
      return { ok: false, errors: error.problems.map((problem) => `${path}.${problem}`) };
    }
    throw error;
  }
}

function lookup(
  routing: CompiledRouting,
  model: string,
  deps: CompileDeps,
): { target: Target; aliasChain: readonly string[] } {
  const named = routing.names.get(model);
  if (named) return named;
  if (model !== "" && deps.isServed(model)) return { target: { kind: "model", model }, aliasChain: [] };
  throw modelNotFound(model);
}

/** Names only what the caller sent: the list of served models may be other tenants' business. */
export function modelNotFound(requested: string): StrataError {
  return new StrataError("model_not_found", `model "${requested}" is not served`, { param: "model" });
}

function finish(
  target: Target,
  aliasChain: readonly string[],
  decision: RouteDecision | undefined,
): ModelResolution {
  const via = aliasChain.map((alias) => `alias "${alias}" → `).join("");
  if (target.kind === "model") {
    return { model: target.model, reason: via === "" ? "" : `${via}model "${target.model}"`, fallbacks: [] };
  }
  if (target.kind === "tier") {
    const { tier } = target;
    return {
      model: tier.model,
      tier: tier.name,
      reason: `${via}tier "${tier.name}"`,
      fallbacks: tier.fallbacks,
    };
  }
  const tier = decision!.tier;
  return {
    model: tier.model,
    tier: tier.name,
    reason: `${via}route "${target.route.name}": ${decision!.reason}`,
    fallbacks: routeFallbacks(target.route, tier.name),
  };
}

function routeFallbacks(route: CompiledRoute, tier: string): readonly string[] {
  return route.fallbacksByTier.get(tier) ?? [];
}
