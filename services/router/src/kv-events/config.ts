/**
 * Configuration of precise (KV-event-fed) routing: where each engine publishes its events (an
 * endpoint's `kvEvents`), what the router must share with the engines to compute the same block
 * hashes (the router's `kvEvents` section), and the `precise` strategy's own parameters.
 */
import { z } from "zod";
import { PROMPT_TEMPLATES } from "./engine-prompt.js";
import { vllmHashAlgorithms } from "./vllm-block-hash.js";

const tcpEndpoint = z
  .string()
  .regex(/^tcp:\/\/(\[[^\]]+\]|[^:/*]+):\d+$/, "must be tcp://host:port (a concrete host to connect to)");

/** An endpoint's event feed: vLLM's --kv-events-config `endpoint` / `replay_endpoint` / `topic`, seen from the router. */
export const kvEventsEndpointSchema = z
  .object({
    /** The engine's PUB socket. */
    endpoint: tcpEndpoint,
    /** The engine's replay ROUTER socket; without it a sequence gap is counted but not repaired. */
    replayEndpoint: tcpEndpoint.optional(),
    /** Topic prefix to subscribe to; "" (vLLM's default topic) receives everything. */
    topic: z.string().default(""),
  })
  .strict();

export type KvEventsEndpointConfig = z.output<typeof kvEventsEndpointSchema>;

const positiveInt = z.coerce.number().int().positive();

const hashAlgorithms = ["engine-sim", ...vllmHashAlgorithms] as const;

/** Why a vLLM `--prefix-caching-hash-algo` the router does not reproduce is refused. */
const refusedAlgorithms: Readonly<Record<string, string>> = {
  xxhash:
    "vLLM's xxhash (pickle + XXH3-128) is not implemented: run the engines with --prefix-caching-hash-algo sha256_cbor",
  xxhash_cbor:
    "vLLM's xxhash_cbor (XXH3-128) is not implemented: run the engines with --prefix-caching-hash-algo sha256_cbor",
  builtin: "vLLM's builtin hashes with Python's hash(), which only Python reproduces: use sha256_cbor",
  sha256_msgpack: "vLLM's sha256_msgpack is not implemented: use sha256_cbor",
  xxhash_msgpack: "vLLM's xxhash_msgpack is not implemented: use sha256_cbor",
};

function hashAlgorithmError(input: unknown): string {
  const reason = typeof input === "string" ? refusedAlgorithms[input] : undefined;
  return reason ?? `must be one of ${hashAlgorithms.map((name) => `"${name}"`).join(", ")}`;
}

const tokenizerSchema = z.preprocess(
  // `{ vocabSize }` alone predates the hf tokenizer and still means engine-sim's.
  (value) =>
    typeof value === "object" && value !== null && !("type" in value)
      ? { ...value, type: "engine-sim" }
      : value,
  z.discriminatedUnion(
    "type",
    [
      z
        .object({
          type: z.literal("engine-sim"),
          /** The engines' --vocab-size. */
          vocabSize: positiveInt.default(32_000),
        })
        .strict(),
      z
        .object({
          type: z.literal("hf"),
          /** The served model's tokenizer.json (byte-level BPE), read once at start. */
          path: z.string().min(1),
        })
        .strict(),
    ],
    { error: 'type must be "engine-sim" or "hf"' },
  ),
);

const promptTemplateSchema = z
  .object({
    bos: z.string(),
    message: z.string().refine((message) => message.includes("{content}"), "must contain {content}"),
    generationPrompt: z.string(),
    trimContent: z.boolean().default(false),
    defaultSystem: z.string().optional(),
  })
  .strict();

const chatTemplateSchema = z.union(
  [
    z.enum(["as-sent", ...(Object.keys(PROMPT_TEMPLATES) as (keyof typeof PROMPT_TEMPLATES)[])]),
    promptTemplateSchema,
  ],
  {
    error:
      'must be "as-sent", "llama3", "chatml" or { bos, message, generationPrompt, trimContent?, defaultSystem? }',
  },
);

/** Python refuses to start with any other PYTHONHASHSEED, so an engine cannot have such a seed. */
const pythonHashSeed = /^(random|\d+)$/;

/**
 * What must match the engines for a single hash to match (llm-d's tokenProcessorConfig and tokenizer
 * settings play this role): block size, hash seed and algorithm, the tokenizer, and the prompt text.
 * One section for the router: every endpoint with `kvEvents` must run with these settings.
 */
export const kvEventsRouterSchema = z
  .object({
    /** Tokens per KV block: the engines' --block-size. */
    blockSize: positiveInt.default(16),
    /** Seed of the block-hash chain, exactly as the engines have it (vLLM: PYTHONHASHSEED; engine-sim: --hash-seed). */
    hashSeed: z.string().default("0"),
    /**
     * How blocks are hashed: engine-sim's scheme, or vLLM's --prefix-caching-hash-algo (`sha256_cbor`,
     * `sha256` — vLLM's default, pickle-based — or vLLM 0.10's `sha256_cbor_64bit`).
     */
    hashAlgorithm: z
      .enum(hashAlgorithms, { error: (issue) => hashAlgorithmError(issue.input) })
      .default("engine-sim"),
    /** engine-sim's tokenizer, or the served model's Hugging Face tokenizer.json. */
    tokenizer: tokenizerSchema.prefault({}),
    /**
     * How the engine renders the prompt the router is given (see engine-prompt.ts): "as-sent" when it
     * is already the engine's text (engine-sim), else the model's chat template.
     */
    chatTemplate: chatTemplateSchema.default("as-sent"),
    /** Remembered tokenization of prompt prefixes, so a conversation's next turn tokenizes only its new text. */
    prefixStore: z
      .object({
        /** Characters per remembered chunk. */
        chunkChars: positiveInt.default(256),
        /** Chunks remembered (LRU); ~300 bytes each, so the default holds 8M characters in ~10 MB. */
        maxChunks: positiveInt.default(32_768),
      })
      .strict()
      .prefault({}),
    /** How long a gap's replay may take before the subscriber gives up and counts it unrepaired. */
    replayTimeoutMs: positiveInt.default(2_000),
    /** Reconnect back-off to an engine's event socket. */
    reconnectMinMs: positiveInt.default(100),
    reconnectMaxMs: positiveInt.default(5_000),
  })
  .strict()
  .superRefine((config, context) => {
    const issue = (path: string[], message: string) => context.addIssue({ code: "custom", path, message });
    if (config.hashAlgorithm === "engine-sim") {
      if (config.tokenizer.type !== "engine-sim") {
        issue(["tokenizer", "type"], 'engine-sim hashes its own tokens: use { "type": "engine-sim" }');
      }
      if (config.chatTemplate !== "as-sent") {
        issue(["chatTemplate"], 'engine-sim prefills the prompt as the gateway renders it: use "as-sent"');
      }
      return;
    }
    if (config.tokenizer.type !== "hf") {
      issue(
        ["tokenizer", "type"],
        `vLLM (${config.hashAlgorithm}) hashes the model's own tokens: set { "type": "hf", "path": "<the model's tokenizer.json>" }`,
      );
    }
    const seed = pythonHashSeed.exec(config.hashSeed);
    if (!seed || (seed[1] !== "random" && Number(seed[1]) > 4_294_967_295)) {
      issue(
        ["hashSeed"],
        'must be the engines\' PYTHONHASHSEED: "random" or an integer from 0 to 4294967295',
      );
    }
  });

export type KvEventsRouterConfig = z.output<typeof kvEventsRouterSchema>;

export const preciseParamsSchema = z
  .object({
    /**
     * Candidates whose cached prefix is within this many blocks of the best count as tied, and the
     * least loaded of them wins: a near-equal hit is not worth queueing behind a busy replica.
     */
    tieBlocks: z.coerce.number().int().min(0).default(0),
  })
  .strict();

export type PreciseParams = z.input<typeof preciseParamsSchema>;
