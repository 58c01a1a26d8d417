/**
 * From the watched objects to what routing uses: endpoints for the endpoint table and each served
 * model's routing settings. A pure function of its inputs, recomputed on every change (level-triggered):
 * whatever order events arrive in, the same objects give the same state.
 */
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { z } from "zod";
import { type EndpointConfig, endpointConfigSchema } from "../config.js";
import { inTreeStrategies } from "../scoring/strategy-registry.js";
import { addressTypes, readyAddresses, sliceService } from "./endpoint-slice.js";
import { type ModelDeploymentView, type ModelPrice, readModelDeployment } from "./model-deployment.js";

/** A served model's routing settings, from the first ModelDeployment (by namespace/name) serving it. */
export interface DiscoveredModel {
  model: string;
  /** `namespace/name` of the ModelDeployment the settings come from. */
  source: string;
  strategy: string | undefined;
  tier: string | undefined;
  aliases: string[];
  fallbacks: string[];
  price: ModelPrice | undefined;
  /** Adapters of every ModelDeployment serving the model. */
  adapters: string[];
}

export interface DiscoveredState {
  endpoints: EndpointConfig[];
  models: Map<string, DiscoveredModel>;
  /** Tier name → served model. */
  tiers: Map<string, string>;
  /** Served model → its ModelDeployments (`namespace/name`) that a waiting request can wake from zero. */
  wakeable: Map<string, string[]>;
  /** Settings that could not be applied, each naming the ModelDeployment and what to fix. */
  problems: string[];
}

/** Names the router's own configuration already gives meaning to; discovery never takes them over. */
export interface StaticNames {
  /** Model, alias and adapter names of configured endpoints. */
  endpointNames: ReadonlyMap<string, { model: string; kind: "model" | "alias" | "adapter" }>;
  /** Alias, tier and route names of the model routing configuration. */
  routingNames: ReadonlySet<string>;
}

// Discovered ids read `<namespace>/<deployment>/<pod>`: slashes keep them apart from configured ids.
const discoveredEndpointSchema = endpointConfigSchema.extend({ id: z.string().min(1) });

export function buildDiscoveredState(
  modelDeployments: readonly unknown[],
  slices: readonly V1EndpointSlice[],
  staticNames: StaticNames,
): DiscoveredState {
  const problems: string[] = [];
  const read: ModelDeploymentView[] = [];
  for (const object of modelDeployments) {
    const result = readModelDeployment(object);
    if (!result.ok) problems.push(`ModelDeployment ${result.key}: ignored, unreadable (${result.error})`);
    else if (!result.view.deleting) read.push(result.view);
  }
  read.sort((a, b) => a.key.localeCompare(b.key));
  const names = new NameRegistry(staticNames, problems);
  const views = read.filter((view) => names.claimModel(view));
  const models = new Map<string, DiscoveredModel>();
  const settingsOf = new Map<string, string>();
  for (const view of views) {
    const settings = JSON.stringify([view.strategy, view.tier, view.fallbacks, view.price]);
    const first = models.get(view.model);
    if (first && settingsOf.get(view.model) !== settings) {
      problems.push(
        `ModelDeployment ${view.key}: serves model "${view.model}" like ${first.source} but with other routing settings; ${first.source}'s apply`,
      );
    }
    settingsOf.set(view.model, settingsOf.get(view.model) ?? settings);
    addModel(models, view, names, problems);
  }
  const tiers = new Map<string, string>();
  for (const model of models.values()) {
    if (model.tier !== undefined) tiers.set(model.tier, model.model);
  }
  const endpoints = buildEndpoints(views, slices, models, names, problems);
  const wakeable = new Map<string, string[]>();
  for (const view of views) {
    if (view.wakeable) wakeable.set(view.model, [...(wakeable.get(view.model) ?? []), view.key]);
  }
  return { endpoints, models, tiers, wakeable, problems };
}

/** The first ModelDeployment of a model gives its settings; every one adds its aliases and adapters. */
function addModel(
  models: Map<string, DiscoveredModel>,
  view: ModelDeploymentView,
  names: NameRegistry,
  problems: string[],
): void {
  const adapters = view.adapters.filter((adapter) => names.claimAdapter(adapter, view));
  const aliases = view.aliases.filter((alias) => names.claimAlias(alias, view));
  const current = models.get(view.model);
  if (current) {
    current.aliases.push(...aliases.filter((alias) => !current.aliases.includes(alias)));
    current.adapters.push(...adapters.filter((adapter) => !current.adapters.includes(adapter)));
    return;
  }
  const tier = view.tier !== undefined && names.claimTier(view.tier, view) ? view.tier : undefined;
  models.set(view.model, {
    model: view.model,
    source: view.key,
    strategy: knownStrategy(view, problems),
    tier,
    aliases,
    fallbacks: view.fallbacks,
    price: view.price,
    adapters,
  });
}

/** A strategy this router does not ship (a newer CRD than the router) leaves the configured default. */
function knownStrategy(view: ModelDeploymentView, problems: string[]): string | undefined {
  if (view.strategy === undefined || Object.hasOwn(inTreeStrategies, view.strategy)) return view.strategy;
  const known = Object.keys(inTreeStrategies).join(", ");
  problems.push(
    `ModelDeployment ${view.key}: unknown routing.strategy "${view.strategy}" (known: ${known}); using the default`,
  );
  return undefined;
}

function buildEndpoints(
  views: readonly ModelDeploymentView[],
  slices: readonly V1EndpointSlice[],
  models: ReadonlyMap<string, DiscoveredModel>,
  names: NameRegistry,
  problems: string[],
): EndpointConfig[] {
  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const service = sliceService(slice);
    if (service === undefined) continue;
    const key = `${slice.metadata?.namespace ?? ""}/${service}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
  }
  const endpoints = new Map<string, EndpointConfig>();
  for (const view of views) {
    // IPv4 first, so a dual-stack Pod is reached over IPv4 and listed once.
    const own = (slicesByService.get(view.key) ?? []).sort(
      (a, b) =>
        addressTypes.indexOf(a.addressType) - addressTypes.indexOf(b.addressType) ||
        (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
    const model = models.get(view.model);
    for (const slice of own) {
      for (const address of readyAddresses(slice)) {
        const id = `${view.key}/${address.name}`;
        if (endpoints.has(id)) continue;
        const parsed = discoveredEndpointSchema.safeParse({
          id,
          url: address.url,
          model: view.model,
          api: view.api,
          aliases: model?.aliases ?? [],
          adapters: view.adapters.filter((adapter) => names.adapterBase(adapter) === view.model),
          ...(view.kvCapacityTokens === undefined ? {} : { kvCapacityTokens: view.kvCapacityTokens }),
        });
        // One unusable address (a hand-made FQDN slice) must not cost the model its other replicas.
        if (parsed.success) endpoints.set(id, parsed.data);
        else
          problems.push(
            `ModelDeployment ${view.key}: address ${address.url} ignored (${parsed.error.issues[0]?.message})`,
          );
      }
    }
  }
  return [...endpoints.values()];
}

/**
 * Who owns each client-visible name. Configured endpoints and model routing come first, then served
 * models, then aliases, adapters and tiers in ModelDeployment order (namespace/name): a name that would
 * reach two models is refused for the later claimant, with a problem saying which.
 */
class NameRegistry {
  private readonly owner = new Map<string, { model: string; kind: string; source: string }>();

  constructor(
    private readonly staticNames: StaticNames,
    private readonly problems: string[],
  ) {
    for (const [name, entry] of staticNames.endpointNames) {
      this.owner.set(name, { ...entry, source: "the router's endpoints" });
    }
  }

  /** A served model name may be shared (several deployments of one model), never taken from an alias. */
  claimModel(view: ModelDeploymentView): boolean {
    const existing = this.owner.get(view.model);
    if (existing === undefined || existing.kind === "model") {
      this.owner.set(view.model, existing ?? { model: view.model, kind: "model", source: view.key });
      return true;
    }
    this.problems.push(
      `ModelDeployment ${view.key}: ignored, its model name ${describe(view.model, existing)}`,
    );
    return false;
  }

  claimAlias(alias: string, view: ModelDeploymentView): boolean {
    if (alias === view.model) return false;
    return this.claim(alias, "alias", view);
  }

  claimAdapter(adapter: string, view: ModelDeploymentView): boolean {
    return this.claim(adapter, "adapter", view);
  }

  claimTier(tier: string, view: ModelDeploymentView): boolean {
    if (this.staticNames.routingNames.has(tier)) {
      this.problems.push(
        `ModelDeployment ${view.key}: tier "${tier}" is already defined by the router's model routing; that definition applies`,
      );
      return false;
    }
    // A tier named after its own model adds nothing but is harmless.
    if (tier === view.model) return true;
    return this.claim(tier, "tier", view);
  }

  adapterBase(adapter: string): string | undefined {
    const entry = this.owner.get(adapter);
    return entry?.kind === "adapter" ? entry.model : undefined;
  }

  private claim(name: string, kind: string, view: ModelDeploymentView): boolean {
    const existing = this.owner.get(name);
    if (existing === undefined) {
      this.owner.set(name, { model: view.model, kind, source: view.key });
      return true;
    }
    if (existing.kind === kind && existing.model === view.model) return true;
    this.problems.push(`ModelDeployment ${view.key}: ${kind} "${name}" ignored, ${describe(name, existing)}`);
    return false;
  }
}

function describe(name: string, owner: { model: string; kind: string; source: string }): string {
  const what =
    owner.kind === "model"
      ? `the name of model "${owner.model}"`
      : `${/^[aeiou]/.test(owner.kind) ? "an" : "a"} ${owner.kind} of model "${owner.model}"`;
  return `"${name}" is already ${what} (${owner.source})`;
}
