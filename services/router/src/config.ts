import { jsonSetting } from "@strata/kit";
import { z } from "zod";
import { port, positiveMs } from "./config-values.js";
import { kubernetesDiscoverySchema } from "./discovery/discovery-config.js";
import { outlierDetectionSchema } from "./endpoints/outlier-config.js";
import { kvEventsEndpointSchema, kvEventsRouterSchema } from "./kv-events/config.js";
import { modelRoutingConfigSchema } from "./models/index.js";
import { inTreeStrategies } from "./scoring/strategy-registry.js";
import { natsUrlSchema, syncConfigSchema } from "./sync/sync-config.js";

const count = z.coerce.number().int().min(1);
const weight = z.coerce.number().min(0);

export const endpointConfigSchema = z
  .object({
    /** Stable id: appears in metrics labels, RouteResponse and Report. */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "use letters, digits and . _ : -"),
    // Stored without trailing slashes so callers can append API paths ("/v1/chat/completions") as-is.
    url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .transform((url) => url.replace(/\/+$/, "")),
    /** The model name the engine serves, sent upstream in request bodies. */
    model: z.string().min(1),
    api: z.enum(["openai", "tgi"]).default("openai"),
    /** Other names clients may use for this model. */
    aliases: z.array(z.string().min(1)).default([]),
    /**
     * KV-cache capacity of the engine in tokens (vLLM logs it as "GPU KV cache size"). Optional: prefix
     * indexes size their per-endpoint LRU from it so the index forgets roughly when the engine does.
     */
    kvCapacityTokens: z.coerce.number().int().positive().optional(),
    /**
     * LoRA adapters the engine serves (vLLM --lora-modules names). A request naming one goes only to
     * endpoints listing it, and the adapter's name is what is sent upstream as `model`.
     */
    adapters: z.array(z.string().min(1)).default([]),
    /** Where the engine publishes its KV-cache events, for the `precise` strategy. */
    kvEvents: kvEventsEndpointSchema.optional(),
  })
  .strict();

export type EndpointConfig = z.output<typeof endpointConfigSchema>;

/** Endpoints arrive as JSON in one environment variable, or already as an array from a file or run(). */
const endpointsSchema = jsonSetting(z.array(endpointConfigSchema)).superRefine(checkEndpointNames);

/** Duplicate ids would merge two engines' state; an alias naming two models would make routing ambiguous. */
function checkEndpointNames(endpoints: EndpointConfig[], context: z.RefinementCtx): void {
  const ids = new Set<string>();
  const servedModels = new Set(endpoints.map((endpoint) => endpoint.model));
  const aliasTarget = new Map<string, string>();
  endpoints.forEach((endpoint, index) => {
    if (ids.has(endpoint.id)) {
      context.addIssue({
        code: "custom",
        path: [index, "id"],
        message: `duplicate endpoint id "${endpoint.id}"`,
      });
    }
    ids.add(endpoint.id);
    endpoint.aliases.forEach((alias, aliasIndex) => {
      const path = [index, "aliases", aliasIndex];
      const target = aliasTarget.get(alias);
      if (
        (target !== undefined && target !== endpoint.model) ||
        (alias !== endpoint.model && servedModels.has(alias))
      ) {
        context.addIssue({ code: "custom", path, message: `alias "${alias}" names more than one model` });
      }
      aliasTarget.set(alias, endpoint.model);
    });
  });
  checkAdapterNames(endpoints, servedModels, aliasTarget, context);
}

/** An adapter name that is also a model or alias, or an adapter of two base models, is ambiguous. */
function checkAdapterNames(
  endpoints: EndpointConfig[],
  servedModels: ReadonlySet<string>,
  aliasTarget: ReadonlyMap<string, string>,
  context: z.RefinementCtx,
): void {
  const baseOf = new Map<string, string>();
  endpoints.forEach((endpoint, index) => {
    endpoint.adapters.forEach((adapter, adapterIndex) => {
      const path = [index, "adapters", adapterIndex];
      if (servedModels.has(adapter) || aliasTarget.has(adapter)) {
        context.addIssue({
          code: "custom",
          path,
          message: `adapter "${adapter}" is also a model or alias name`,
        });
      }
      const base = baseOf.get(adapter);
      if (base !== undefined && base !== endpoint.model) {
        const message = `adapter "${adapter}" is served on two base models ("${base}", "${endpoint.model}")`;
        context.addIssue({ code: "custom", path, message });
      }
      baseOf.set(adapter, endpoint.model);
    });
  });
}

const strategyChoice = z.object({ strategy: z.string(), params: z.unknown().optional() }).strict();

/**
 * Which replica-routing strategy serves each model. `params` holds parameters per strategy name, used
 * wherever that strategy runs; a model's own `params` replace them for that model. Names and
 * parameters are checked at load against the strategies' own schemas, so a typo fails start-up.
 */
const routingSchema = z
  .object({
    defaultStrategy: z.string().default("kv-aware"),
    params: z.record(z.string(), z.unknown()).default({}),
    models: z.record(z.string(), strategyChoice).default({}),
  })
  .strict()
  .superRefine((routing, context) => {
    const check = (name: string, params: unknown, namePath: PropertyKey[], paramsPath: PropertyKey[]) => {
      const plugin = inTreeStrategies[name];
      if (!plugin) {
        const known = Object.keys(inTreeStrategies).join(", ");
        context.addIssue({
          code: "custom",
          path: namePath,
          message: `unknown strategy "${name}" (known: ${known})`,
        });
        return;
      }
      const result = plugin.paramsSchema.safeParse(params ?? {});
      if (result.success) return;
      for (const issue of result.error.issues) {
        context.addIssue({ code: "custom", path: [...paramsPath, ...issue.path], message: issue.message });
      }
    };
    check(
      routing.defaultStrategy,
      routing.params[routing.defaultStrategy],
      ["defaultStrategy"],
      ["params", routing.defaultStrategy],
    );
    for (const [name, params] of Object.entries(routing.params)) {
      if (name !== routing.defaultStrategy) check(name, params, ["params", name], ["params", name]);
    }
    for (const [model, choice] of Object.entries(routing.models)) {
      const params = choice.params ?? routing.params[choice.strategy];
      check(choice.strategy, params, ["models", model, "strategy"], ["models", model, "params"]);
    }
  });

export type RoutingConfig = z.output<typeof routingSchema>;

export const routerConfigSchema = z
  .object({
    grpc: z
      .object({ host: z.string().min(1).default("0.0.0.0"), port: port.default(50061) })
      .strict()
      .prefault({}),
    ops: z
      .object({ port: port.default(9461) })
      .strict()
      .prefault({}),
    endpoints: endpointsSchema.prefault([]),
    health: z
      .object({
        intervalMs: positiveMs.default(2_000),
        // An engine that cannot answer /health within a second is too slow to take new work anyway.
        timeoutMs: positiveMs.default(1_000),
        unhealthyAfterFailures: count.default(2),
        unhealthyAfterConnectErrors: count.default(3),
        /** Cap for the exponential back-off of re-checks of a failing endpoint. */
        backoffMaxMs: positiveMs.default(30_000),
      })
      .strict()
      .prefault({}),
    inFlight: z
      .object({
        // Longer than any sane generation; an entry older than this lost its Report.
        timeoutMs: positiveMs.default(600_000),
      })
      .strict()
      .prefault({}),
    routing: routingSchema.prefault({}),
    /** Model routing: aliases, tiers and virtual models (e.g. `auto`) resolved before replica choice. */
    models: modelRoutingConfigSchema.prefault({}),
    /**
     * A JSON file holding the `models` section instead, reloaded without a restart when it changes
     * (validated first: a bad file keeps the running configuration). Excludes an inline `models`.
     */
    modelsFile: z.string().min(1).optional(),
    /** What precise routing shares with the engines (block size, hash seed, tokenizer). */
    kvEvents: kvEventsRouterSchema.prefault({}),
    outlierDetection: outlierDetectionSchema.prefault({}),
    /** least-load's weights, kept at top level for compatibility; `routing.params["least-load"]` wins. */
    weights: z
      .object({ inFlight: weight.default(1), waiting: weight.default(1), running: weight.default(1) })
      .strict()
      .prefault({}),
    tracing: z
      .object({ otlpEndpoint: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional() })
      .strict()
      .prefault({}),
    /** NATS for sharing routing state between router replicas (`sync`); unset, the router runs alone. */
    natsUrl: natsUrlSchema.optional(),
    sync: syncConfigSchema.prefault({}),
    /** ModelDeployments and their EndpointSlices as endpoints, beside the configured ones. */
    kubernetes: kubernetesDiscoverySchema.prefault({}),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  })
  .strict()
  .superRefine((config, context) => {
    const { aliases, tiers, routes } = config.models;
    const inline = Object.keys(aliases).length + Object.keys(tiers).length + Object.keys(routes).length;
    if (config.modelsFile !== undefined && inline > 0) {
      context.addIssue({
        code: "custom",
        path: ["models"],
        message: "set either models or modelsFile, not both",
      });
    }
  });

export type RouterConfig = z.output<typeof routerConfigSchema>;
export type RouterConfigInput = z.input<typeof routerConfigSchema>;

export const routerEnvMapping = {
  "grpc.host": "ROUTER_GRPC_HOST",
  "grpc.port": "ROUTER_GRPC_PORT",
  "ops.port": "ROUTER_OPS_PORT",
  endpoints: "ROUTER_ENDPOINTS",
  "health.intervalMs": "ROUTER_HEALTH_INTERVAL_MS",
  "health.timeoutMs": "ROUTER_HEALTH_TIMEOUT_MS",
  "health.unhealthyAfterFailures": "ROUTER_UNHEALTHY_AFTER_FAILURES",
  "health.unhealthyAfterConnectErrors": "ROUTER_UNHEALTHY_AFTER_CONNECT_ERRORS",
  "health.backoffMaxMs": "ROUTER_HEALTH_BACKOFF_MAX_MS",
  "inFlight.timeoutMs": "ROUTER_IN_FLIGHT_TIMEOUT_MS",
  "routing.defaultStrategy": "ROUTER_DEFAULT_STRATEGY",
  "weights.inFlight": "ROUTER_WEIGHT_IN_FLIGHT",
  "weights.waiting": "ROUTER_WEIGHT_WAITING",
  "weights.running": "ROUTER_WEIGHT_RUNNING",
  modelsFile: "ROUTER_MODELS_FILE",
  "kvEvents.blockSize": "ROUTER_KV_BLOCK_SIZE",
  "kvEvents.hashSeed": "ROUTER_KV_HASH_SEED",
  "kvEvents.hashAlgorithm": "ROUTER_KV_HASH_ALGORITHM",
  "outlierDetection.enabled": "ROUTER_OUTLIER_DETECTION_ENABLED",
  "outlierDetection.consecutiveFailures": "ROUTER_OUTLIER_CONSECUTIVE_FAILURES",
  "outlierDetection.baseEjectionMs": "ROUTER_OUTLIER_BASE_EJECTION_MS",
  "outlierDetection.maxEjectionMs": "ROUTER_OUTLIER_MAX_EJECTION_MS",
  "outlierDetection.maxEjectionPercent": "ROUTER_OUTLIER_MAX_EJECTION_PERCENT",
  // The OpenTelemetry variable every SDK reads, so one setting covers every Strata service.
  "tracing.otlpEndpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
  natsUrl: "NATS_URL",
  "sync.enabled": "ROUTER_SYNC_ENABLED",
  "sync.replicaId": "ROUTER_SYNC_REPLICA_ID",
  "sync.group": "ROUTER_SYNC_GROUP",
  "sync.flushIntervalMs": "ROUTER_SYNC_FLUSH_INTERVAL_MS",
  "sync.maxBatch": "ROUTER_SYNC_MAX_BATCH",
  "sync.maxPromptChars": "ROUTER_SYNC_MAX_PROMPT_CHARS",
  "kubernetes.enabled": "ROUTER_KUBERNETES_ENABLED",
  "kubernetes.namespace": "ROUTER_KUBERNETES_NAMESPACE",
  "kubernetes.kubeconfig": "ROUTER_KUBERNETES_KUBECONFIG",
  "kubernetes.initialSyncTimeoutMs": "ROUTER_KUBERNETES_INITIAL_SYNC_TIMEOUT_MS",
  "kubernetes.retryMaxMs": "ROUTER_KUBERNETES_RETRY_MAX_MS",
  logLevel: "ROUTER_LOG_LEVEL",
} as const satisfies Record<string, string>;
