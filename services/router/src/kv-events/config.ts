/**
 * Configuration of precise (KV-event-fed) routing: where each engine publishes its events (an
 * endpoint's `kvEvents`), what the router must share with the engines to compute the same block
 * hashes (the router's `kvEvents` section), and the `precise` strategy's own parameters.
 */
import { z } from "zod";

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

/**
 * What must match the engines for a single hash to match (llm-d's tokenProcessorConfig and tokenizer
 * settings play this role): block size, hash seed and algorithm, and the tokenizer with its vocabulary.
 * One section for the router: every endpoint with `kvEvents` must run with these settings.
 */
export const kvEventsRouterSchema = z
  .object({
    /** Tokens per KV block: the engines' --block-size. */
    blockSize: positiveInt.default(16),
    /** Seed of the block-hash chain: the engines' (vLLM: PYTHONHASHSEED; engine-sim: --hash-seed). */
    hashSeed: z.string().default("0"),
    /**
     * How blocks are hashed. Only engine-sim's scheme (first 8 bytes of SHA-256 over parent hash and
     * token ids) is implemented; vLLM's --prefix-caching-hash-algo sha256_cbor / xxhash_cbor are not yet.
     */
    hashAlgorithm: z
      .enum(["engine-sim"], { error: 'must be "engine-sim" (vLLM\'s sha256_cbor is not implemented yet)' })
      .default("engine-sim"),
    tokenizer: z
      .object({
        type: z
          .enum(["engine-sim"], { error: 'must be "engine-sim" (the only tokenizer the router ships)' })
          .default("engine-sim"),
        /** The engines' --vocab-size. */
        vocabSize: positiveInt.default(32_000),
      })
      .strict()
      .prefault({}),
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
  .strict();

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
