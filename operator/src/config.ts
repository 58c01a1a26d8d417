/**
 * The operator's one configuration schema. Every setting has an environment variable (below); run()
 * takes the same object directly. A bad value stops start-up with the variable's name.
 */
import { hostname } from "node:os";
import { boolSetting, type EnvMapping, loadConfig } from "@strata/kit";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65_535);
const seconds = z.coerce.number().positive();
const bool = boolSetting();

export const operatorConfigSchema = z
  .object({
    /** Path of a kubeconfig; unset means in-cluster credentials (or ~/.kube/config outside a cluster). */
    kubeconfig: z.string().min(1).optional(),
    /** Namespace to watch; empty watches every namespace. */
    namespace: z.string().default(""),
    logLevel: z.enum(["silent", "fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
    ops: z
      .object({ host: z.string().min(1).default("0.0.0.0"), port: port.default(9470) })
      .strict()
      .prefault({}),
    /** Concurrent reconciles; one object is never reconciled by two workers at once. */
    workers: z.coerce.number().int().min(1).max(64).default(4),
    /** Every cached object is reconciled again this often, catching drift no event reported. */
    resyncSeconds: seconds.default(300),
    /** How often to check whether the cluster serves ServiceMonitors (Prometheus Operator installed). */
    discoverySeconds: seconds.default(60),
    queue: z
      .object({
        /** First retry delay of a failing object; doubles per failure up to maxDelayMs. */
        baseDelayMs: z.coerce.number().int().positive().default(50),
        maxDelayMs: z.coerce.number().int().positive().default(300_000),
        /** Retries across all objects, per second, after a burst. */
        retriesPerSecond: z.coerce.number().positive().default(10),
        retryBurst: z.coerce.number().int().positive().default(100),
      })
      .strict()
      .prefault({}),
    leaderElection: z
      .object({
        enabled: bool.default(true),
        namespace: z.string().min(1).default("default"),
        leaseName: z.string().min(1).default("strata-operator"),
        /** Unique per replica; the pod name when the chart sets POD_NAME. */
        identity: z.string().min(1).optional(),
        // client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
        leaseDurationSeconds: seconds.default(15),
        renewDeadlineSeconds: seconds.default(10),
        retryPeriodSeconds: seconds.default(2),
      })
      .strict()
      .refine((election) => election.renewDeadlineSeconds < election.leaseDurationSeconds, {
        message: "renewDeadlineSeconds must be shorter than leaseDurationSeconds",
        path: ["renewDeadlineSeconds"],
      })
      .prefault({}),
    autoscaling: z
      .object({
        /** Off leaves spec.replicas to people, an HPA or KEDA; spec.autoscaling is then ignored. */
        enabled: bool.default(true),
        /** How often each autoscaled ModelDeployment's engines are read and its replicas decided. */
        syncSeconds: seconds.default(5),
        /** An engine slower than this to answer /metrics counts as busy for that round. */
        scrapeTimeoutMs: z.coerce.number().int().positive().default(2_000),
      })
      .strict()
      .prefault({}),
    /** Engine images used when a ModelDeployment names none (spec.engine.image). */
    images: z
      .object({
        vllm: z.string().min(1).default("vllm/vllm-openai:v0.11.0"),
        tgi: z.string().min(1).default("ghcr.io/huggingface/text-generation-inference:3.3.4"),
        sim: z.string().min(1).default("strata/engine-sim:0.1.0"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type OperatorConfig = z.output<typeof operatorConfigSchema>;
export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;

export const operatorEnvMapping: EnvMapping = {
  kubeconfig: "KUBECONFIG",
  namespace: "STRATA_OPERATOR_NAMESPACE",
  logLevel: "LOG_LEVEL",
  "ops.host": "STRATA_OPERATOR_OPS_HOST",
  "ops.port": "STRATA_OPERATOR_OPS_PORT",
  workers: "STRATA_OPERATOR_WORKERS",
  resyncSeconds: "STRATA_OPERATOR_RESYNC_SECONDS",
  discoverySeconds: "STRATA_OPERATOR_DISCOVERY_SECONDS",
  "queue.baseDelayMs": "STRATA_OPERATOR_QUEUE_BASE_DELAY_MS",
  "queue.maxDelayMs": "STRATA_OPERATOR_QUEUE_MAX_DELAY_MS",
  "queue.retriesPerSecond": "STRATA_OPERATOR_QUEUE_RETRIES_PER_SECOND",
  "queue.retryBurst": "STRATA_OPERATOR_QUEUE_RETRY_BURST",
  "leaderElection.enabled": "STRATA_OPERATOR_LEADER_ELECTION",
  "leaderElection.namespace": "POD_NAMESPACE",
  "leaderElection.leaseName": "STRATA_OPERATOR_LEASE_NAME",
  "leaderElection.identity": "POD_NAME",
  "leaderElection.leaseDurationSeconds": "STRATA_OPERATOR_LEASE_DURATION_SECONDS",
  "leaderElection.renewDeadlineSeconds": "STRATA_OPERATOR_RENEW_DEADLINE_SECONDS",
  "leaderElection.retryPeriodSeconds": "STRATA_OPERATOR_RETRY_PERIOD_SECONDS",
  "autoscaling.enabled": "STRATA_OPERATOR_AUTOSCALING",
  "autoscaling.syncSeconds": "STRATA_OPERATOR_AUTOSCALING_SYNC_SECONDS",
  "autoscaling.scrapeTimeoutMs": "STRATA_OPERATOR_AUTOSCALING_SCRAPE_TIMEOUT_MS",
  "images.vllm": "STRATA_OPERATOR_VLLM_IMAGE",
  "images.tgi": "STRATA_OPERATOR_TGI_IMAGE",
  "images.sim": "STRATA_OPERATOR_SIM_IMAGE",
};

export function loadOperatorConfig(env: Record<string, string | undefined> = process.env): OperatorConfig {
  return loadConfig(operatorConfigSchema, operatorEnvMapping, env);
}

/** Pod name in a cluster; elsewhere the host name plus a random suffix, so two local runs never share one. */
export function defaultIdentity(): string {
  return `${hostname()}-${Math.random().toString(36).slice(2, 8)}`;
}
