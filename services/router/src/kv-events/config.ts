/**
 * Configuration fragments for precise (KV-event-fed) routing, for the router's config.ts to embed:
 *   endpointConfigSchema.extend({ kvEvents: kvEventsEndpointSchema.optional() })
 * and for the `precise` strategy's params.
 */
import { z } from "zod";

const tcpEndpoint = z
  .string()
  .regex(/^tcp:\/\/(\[[^\]]+\]|[^:/*]+):\d+$/, "must be tcp://host:port (a concrete host to connect to)");

export const kvEventsEndpointSchema = z
  .object({
    /** The engine's PUB socket (vLLM --kv-events-config endpoint, seen from the router). */
    endpoint: tcpEndpoint,
    /** The engine's replay ROUTER socket; without it a sequence gap is counted but not repaired. */
    replayEndpoint: tcpEndpoint.optional(),
    /** Topic prefix to subscribe to; "" (vLLM's default topic) receives everything. */
    topic: z.string().default(""),
  })
  .strict();

export type KvEventsEndpointConfig = z.output<typeof kvEventsEndpointSchema>;

export const preciseParamsSchema = z
  .object({
    /** Tokens per KV block; must equal the engines' --block-size or no hash will ever match. */
    blockSize: z.coerce.number().int().positive().default(16),
    /** Seed of the block-hash chain; must equal the engines' (vLLM: PYTHONHASHSEED). */
    hashSeed: z.string().default("0"),
    /**
     * Candidates whose cached prefix is within this many blocks of the best count as tied, and the
     * least loaded of them wins: a near-equal hit is not worth queueing behind a busy replica.
     */
    tieBlocks: z.coerce.number().int().min(0).default(0),
  })
  .strict();

export type PreciseParams = z.input<typeof preciseParamsSchema>;
