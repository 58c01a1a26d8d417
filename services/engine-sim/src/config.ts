/**
 * engine-sim's one configuration schema. Every field is a flag (`--kv-capacity-blocks 2048` or
 * `--kv-capacity-blocks=2048`), an environment variable (`ENGINE_SIM_KV_CAPACITY_BLOCKS`), or an
 * option of startEngineSim(). Flags beat environment variables; a bad value names the setting.
 */
import { boolSetting } from "@strata/kit";
import { z } from "zod";
import { faultRuleSchema } from "./faults/fault-injector.js";
import { scriptRuleSchema } from "./generation/script.js";

const bool = boolSetting();
const int = (min: number) => z.coerce.number().int().min(min);
const nonNegative = () => z.coerce.number().finite().min(0);

export const engineSimOptionsSchema = z
  .object({
    /** Interface to bind; vLLM and TGI bind every interface by default. */
    host: z.string().min(1).default("0.0.0.0"),
    /** 0 picks a free port. */
    port: int(0).max(65_535).default(8000),
    /** Served model name (vLLM --served-model-name; TGI model_id). */
    model: z.string().min(1).default("sim-llama"),
    /** Which engine's native API and metrics to speak; both serve the OpenAI routes. */
    api: z.enum(["vllm", "tgi", "anthropic"]).default("vllm"),
    /** Required credential: vLLM's --api-key (Authorization: Bearer) or, in anthropic mode, x-api-key. */
    apiKey: z.string().min(1).optional(),
    /** Injected failures, in order (startEngineSim only; see faults/fault-injector.ts). */
    faults: z.array(faultRuleSchema).optional(),
    maxModelLen: int(2).default(4096),
    blockSize: int(1).default(16),
    kvCapacityBlocks: int(1).default(2048),
    maxNumSeqs: int(1).default(256),
    prefillMsPerToken: nonNegative().default(0.1),
    prefillOverheadMs: nonNegative().default(5),
    decodeMsPerToken: nonNegative().default(20),
    decodeBatchPenalty: nonNegative().default(0.02),
    /** Multiplies every simulated delay; 0 answers instantly (the engine runs in virtual time). */
    timeScale: nonNegative().default(1),
    enablePrefixCaching: bool.default(true),
    /** vLLM's --enable-prompt-tokens-details (off by default in vLLM, on here): report cached_tokens. */
    enablePromptTokensDetails: bool.default(true),
    /** Seed of the block-hash chain (vLLM's PYTHONHASHSEED); routers must use the same. */
    hashSeed: z.string().default("0"),
    vocabSize: int(1000).default(32_000),
    /** Length range of unscripted replies, in tokens. */
    randomOutputMinTokens: int(0).default(16),
    randomOutputMaxTokens: int(1).default(128),
    /** JSON or YAML file of `{match, reply}` rules. */
    script: z.string().min(1).optional(),
    /** The same rules given in-process (startEngineSim only). */
    scriptRules: z.array(scriptRuleSchema).optional(),
    /** TGI's --max-concurrent-requests: more in flight get 429 "Model is overloaded". */
    maxConcurrentRequests: int(1).default(128),
    /** Publish vLLM-format KV-cache events over ZMQ (vLLM --kv-events-config enable_kv_cache_events). */
    kvEvents: bool.default(false),
    /** PUB endpoint; `*` binds every interface, port 0 picks a free one (see EngineSim.kvEvents). */
    kvEventsEndpoint: z
      .string()
      .regex(/^tcp:\/\//, "must be tcp://host:port")
      .default("tcp://*:5557"),
    /** ROUTER endpoint answering replay requests after sequence gaps; none by default, as in vLLM. */
    kvEventsReplayEndpoint: z
      .string()
      .regex(/^tcp:\/\//, "must be tcp://host:port")
      .optional(),
    /** Topic frame; defaults to llm-d's convention kv@<hostname>@<model>. */
    kvEventsTopic: z.string().optional(),
    /** Batches kept for replay (vLLM buffer_steps). */
    kvEventsBufferSteps: int(1).default(10_000),
    /** Per-subscriber high-water mark in messages (vLLM hwm). */
    kvEventsHwm: int(1).default(100_000),
    /** msgpack shape of EventBatch: "array" (array_like, what llm-d/Dynamo decode) or "map" (newer vLLM). */
    kvEventsEncoding: z.enum(["array", "map"]).default("array"),
    logLevel: z.enum(["silent", "error", "info", "debug"]).default("info"),
    /** How long close() waits for in-flight requests before aborting them. */
    shutdownGraceMs: int(0).default(5000),
  })
  .strict()
  .superRefine((options, context) => {
    const kvTokens = options.kvCapacityBlocks * options.blockSize;
    if (options.maxModelLen > kvTokens) {
      context.addIssue({
        code: "custom",
        path: ["maxModelLen"],
        message: `the model's max seq len (${options.maxModelLen}) is larger than the maximum number of tokens that can be stored in KV cache (${kvTokens}); raise --kv-capacity-blocks or lower --max-model-len`,
      });
    }
    if (options.randomOutputMinTokens > options.randomOutputMaxTokens) {
      context.addIssue({
        code: "custom",
        path: ["randomOutputMinTokens"],
        message: "must be <= --random-output-max-tokens",
      });
    }
  });

export type EngineSimOptions = z.output<typeof engineSimOptionsSchema>;
export type EngineSimOptionsInput = z.input<typeof engineSimOptionsSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const ENV_PREFIX = "ENGINE_SIM_";
const CLI_ONLY = new Set(["scriptRules", "faults"]);

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (char) => `-${char.toLowerCase()}`)}`;
}

export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (char) => `_${char}`).toUpperCase();
}

/** Validates options, throwing a ConfigError that names the offending settings. */
export function parseEngineSimOptions(input: unknown): EngineSimOptions {
  const parsed = engineSimOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? String(issue.path[0]) : "";
    const where = key ? `${flagName(key)} (${envName(key)})` : "options";
    const unknown = issue.code === "unrecognized_keys" ? `: ${issue.keys.map(flagName).join(", ")}` : "";
    return `${where}: ${issue.message}${unknown}`;
  });
  throw new ConfigError(`invalid engine-sim configuration:\n  ${problems.join("\n  ")}`);
}

/** Reads settings from environment variables, then command-line flags (which win). */
export function loadEngineSimOptions(argv: readonly string[], env: NodeJS.ProcessEnv): EngineSimOptions {
  const keys = Object.keys(engineSimOptionsSchema.shape).filter((key) => !CLI_ONLY.has(key));
  const byFlag = new Map(keys.map((key) => [flagName(key), key]));
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const value = env[envName(key)];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (!argument.startsWith("--")) throw new ConfigError(`unexpected argument "${argument}"`);
    const equals = argument.indexOf("=");
    let flag = equals >= 0 ? argument.slice(0, equals) : argument;
    let value: string | undefined = equals >= 0 ? argument.slice(equals + 1) : undefined;
    if (
      !byFlag.has(flag) &&
      flag.startsWith("--no-") &&
      byFlag.has(`--${flag.slice(5)}`) &&
      value === undefined
    ) {
      flag = `--${flag.slice(5)}`;
      value = "false";
    }
    const key = byFlag.get(flag);
    if (!key) throw new ConfigError(`unknown flag ${flag}`);
    if (value === undefined) {
      const next = argv[index + 1];
      if (next !== undefined && !next.startsWith("--")) {
        value = next;
        index++;
      } else {
        value = "true";
      }
    }
    raw[key] = value;
  }
  return parseEngineSimOptions(raw);
}
