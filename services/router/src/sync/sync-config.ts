/**
 * Configuration of routing-state sync between router replicas, for the router's config.ts to embed
 * as `sync`. It takes effect only when `natsUrl` is set too: without NATS the router runs alone.
 */
import { z } from "zod";
import { flag } from "../config-values.js";

/** The longest prompt shared; with the batch size limit it keeps a batch under NATS's 1 MB max_payload. */
export const maxSharedPromptChars = 131_072;

/** One NATS subject token: no dots, spaces or wildcards. */
const subjectToken = z.string().regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, _ and -");

export const syncConfigSchema = z
  .object({
    enabled: flag.default(true),
    /**
     * This replica's id in the batches it publishes; it skips batches carrying its own. Unset: host
     * name, process id and a random suffix, so two routers in one process still tell themselves apart.
     */
    replicaId: z.string().min(1).optional(),
    /** Replicas of one group route as one; separate deployments sharing a NATS use separate groups. */
    group: subjectToken.default("default"),
    /**
     * How long a decision may wait to be coalesced with others into one NATS message. 1 ms keeps
     * peers within a couple of milliseconds of each other (the routing benchmark's 2 ms hop) while
     * a busy replica sends one message per millisecond rather than one per request. 0: next tick.
     */
    flushIntervalMs: z.coerce.number().min(0).max(1_000).default(1),
    /** A batch is sent as soon as it holds this many events. */
    maxBatch: z.coerce.number().int().min(1).max(10_000).default(64),
    /**
     * Prompts are cut to this many characters before they are shared. The default covers the prefix
     * indexes' default reach (1,024 blocks × 64 characters); longer prompts cost NATS bandwidth for
     * blocks no index looks at. Capped so one batch always fits NATS's default 1 MB max_payload.
     */
    maxPromptChars: z.coerce.number().int().min(0).max(maxSharedPromptChars).default(65_536),
  })
  .strict();

export type SyncConfig = z.output<typeof syncConfigSchema>;

/** NATS server URL(s) as the nats client takes them. */
export const natsUrlSchema = z.url({ protocol: /^(nats|tls|wss?)$/, error: "must be a nats:// URL" });
