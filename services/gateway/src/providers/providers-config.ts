import { jsonSetting } from "@strata/kit";
import { z } from "zod";
import { parseChainEntry } from "./model-chains.js";

const positiveInt = z.coerce.number().int().positive();

export const hostedProviderSchema = z
  .object({
    /** Used in fallback chains (`<name>:<model>`), metrics, logs and x-strata-route. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case letters, digits, '-' and '_'")
      .refine((name) => name !== "engine", "'engine' is the router's self-hosted replicas"),
    /** openai: any OpenAI-compatible server (OpenAI, vLLM, SGLang, Ollama…); tgi: TGI's native API. */
    kind: z.enum(["openai", "tgi", "anthropic"]),
    /** e.g. https://api.openai.com/v1, https://api.anthropic.com/v1, http://tgi:8080 (no trailing path for TGI). */
    baseUrl: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .transform((url) => url.replace(/\/+$/, "")),
    /** Name of the environment variable holding the API key (resolved once at start-up). */
    apiKeyEnv: z.string().min(1).optional(),
    /** File holding the API key (a mounted Secret); read at start-up. */
    apiKeyFile: z.string().min(1).optional(),
    /** The key itself, for in-process configuration only; never set it from a file under version control. */
    apiKey: z.string().min(1).optional(),
    /** Limit for the provider to start answering: a whole non-streamed answer, or a stream's first event. */
    timeoutMs: positiveInt.default(300_000),
    connectTimeoutMs: positiveInt.default(5_000),
    /** Longest pause between two chunks of a stream once it has started. */
    idleTimeoutMs: positiveInt.default(300_000),
    /** Retries of this provider after its first attempt, on retryable failures only. */
    maxRetries: z.coerce.number().int().min(0).max(10).default(2),
    connections: positiveInt.default(128),
    /** Extra headers on every request (e.g. OpenAI-Organization, anthropic-beta). */
    headers: z.record(z.string(), z.string()).default({}),
    /** anthropic: the anthropic-version header. */
    anthropicVersion: z.string().min(1).default("2023-06-01"),
    /** anthropic: max_tokens when the client sets none (the Messages API requires it). */
    defaultMaxTokens: positiveInt.default(4096),
    /** tgi: how chat messages become the prompt of /generate (the model's chat template). */
    chatTemplate: z.enum(["chatml", "llama3", "mistral", "strata"]).default("chatml"),
  })
  .strict()
  .superRefine((provider, context) => {
    const sources = [provider.apiKeyEnv, provider.apiKeyFile, provider.apiKey].filter(Boolean);
    if (sources.length > 1)
      context.addIssue({
        code: "custom",
        path: ["apiKeyEnv"],
        message: "set only one of apiKeyEnv, apiKeyFile, apiKey",
      });
  });

export type HostedProviderConfig = z.output<typeof hostedProviderSchema>;

export const providersConfigSchema = z
  .object({
    /** Hosted and external providers (GATEWAY_PROVIDERS, a JSON array). */
    hosted: jsonSetting(z.array(hostedProviderSchema)).default([]),
    /**
     * Model aliases → ordered fallback chains of `<provider>:<model>` (GATEWAY_MODEL_ALIASES, a JSON
     * object), e.g. `{"chat-best": ["openai:gpt-4o", "anthropic:claude-sonnet-4", "engine:llama-3-8b"]}`.
     * Models not listed go to the router, which applies its own aliases and fallbacks.
     */
    aliases: jsonSetting(z.record(z.string().min(1), z.array(z.string().min(1)).min(1))).default({}),
    engine: z
      .object({
        /** Retries of a self-hosted model after its first attempt (the router may pick another replica). */
        maxRetries: z.coerce.number().int().min(0).max(10).default(2),
        /**
         * How long a request for a model scaled to zero waits while the operator starts a replica (the
         * request's own deadline still applies); 0 answers 503 at once. Loading large weights takes minutes.
         */
        scaleFromZeroWaitMs: z.coerce.number().int().min(0).max(3_600_000).default(300_000),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        initialBackoffMs: positiveInt.default(100),
        maxBackoffMs: positiveInt.default(5_000),
        /** An upstream asking to wait longer than this (Retry-After) is skipped for the next chain entry. */
        maxRetryAfterMs: positiveInt.default(30_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        consecutiveFailures: positiveInt.default(5),
        windowMs: positiveInt.default(30_000),
        failureRate: z.coerce.number().gt(0).max(1).default(0.5),
        minimumRequests: positiveInt.default(20),
        openMs: positiveInt.default(30_000),
        halfOpenProbes: positiveInt.default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine(checkReferences);

export type ProvidersConfig = z.output<typeof providersConfigSchema>;

/** Names must be unique and every chain entry must name a known provider, with the path of the culprit. */
function checkReferences(config: ProvidersConfig, context: z.RefinementCtx): void {
  const names = new Set(["engine"]);
  config.hosted.forEach((provider, index) => {
    if (names.has(provider.name))
      context.addIssue({
        code: "custom",
        path: ["hosted", index, "name"],
        message: `"${provider.name}" is used twice`,
      });
    names.add(provider.name);
  });
  for (const [alias, chain] of Object.entries(config.aliases)) {
    chain.forEach((text, index) => {
      const entry = parseChainEntry(text);
      const path = ["aliases", alias, index];
      if (!entry) context.addIssue({ code: "custom", path, message: `"${text}" is not <provider>:<model>` });
      else if (!names.has(entry.provider))
        context.addIssue({
          code: "custom",
          path,
          message: `unknown provider "${entry.provider}" (known: ${[...names].join(", ")})`,
        });
    });
  }
}

/** Environment variables of the providers section (prefixed by the gateway's own mapping). */
export const providersEnv: Record<string, string> = {
  "providers.hosted": "GATEWAY_PROVIDERS",
  "providers.aliases": "GATEWAY_MODEL_ALIASES",
  "providers.engine.maxRetries": "GATEWAY_ENGINE_MAX_RETRIES",
  "providers.engine.scaleFromZeroWaitMs": "GATEWAY_ENGINE_SCALE_FROM_ZERO_WAIT_MS",
  "providers.retry.initialBackoffMs": "GATEWAY_RETRY_INITIAL_BACKOFF_MS",
  "providers.retry.maxBackoffMs": "GATEWAY_RETRY_MAX_BACKOFF_MS",
  "providers.retry.maxRetryAfterMs": "GATEWAY_RETRY_MAX_RETRY_AFTER_MS",
  "providers.breaker.consecutiveFailures": "GATEWAY_BREAKER_CONSECUTIVE_FAILURES",
  "providers.breaker.windowMs": "GATEWAY_BREAKER_WINDOW_MS",
  "providers.breaker.failureRate": "GATEWAY_BREAKER_FAILURE_RATE",
  "providers.breaker.minimumRequests": "GATEWAY_BREAKER_MINIMUM_REQUESTS",
  "providers.breaker.openMs": "GATEWAY_BREAKER_OPEN_MS",
  "providers.breaker.halfOpenProbes": "GATEWAY_BREAKER_HALF_OPEN_PROBES",
};

/**
 * Fills each hosted provider's `apiKey` from the environment variable its `apiKeyEnv` names. Runs in
 * loadGatewayConfig, the one place that reads the environment; a variable that is unset fails
 * start-up naming the setting (never the value).
 */
export function resolveProviderKeys(
  config: ProvidersConfig,
  env: Record<string, string | undefined>,
): { config: ProvidersConfig; problems: string[] } {
  const problems: string[] = [];
  const hosted = config.hosted.map((provider, index) => {
    if (!provider.apiKeyEnv) return provider;
    const value = env[provider.apiKeyEnv]?.trim();
    if (!value) {
      problems.push(
        `providers.hosted.${index}.apiKeyEnv: environment variable ${provider.apiKeyEnv} is not set`,
      );
      return provider;
    }
    return { ...provider, apiKey: value };
  });
  return { config: { ...config, hosted }, problems };
}
