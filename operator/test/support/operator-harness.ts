import { silentLogger } from "@strata/kit";
import { afterAll, beforeAll } from "vitest";
import type { OperatorConfigInput } from "../../src/config.js";
import { type RunningOperator, run } from "../../src/run.js";
import { type KubeEnv, startKubeEnv } from "./kube-env.js";

/** Runs the operator in-process against the test API server, watching one namespace. */
export function startOperator(
  env: KubeEnv,
  namespace: string,
  overrides: Partial<OperatorConfigInput> = {},
): Promise<RunningOperator> {
  return run(
    {
      namespace,
      ops: { host: "127.0.0.1", port: 0 },
      leaderElection: { enabled: false },
      ...overrides,
    },
    { kubeConfig: env.kubeConfig, logger: silentLogger() },
  );
}

/** What a suite's tests work with; read inside tests, once the suite's beforeAll has run. */
export interface OperatorSuite extends Pick<KubeEnv, "client" | "kubectl"> {
  readonly namespace: string;
  readonly operator: RunningOperator;
}

/**
 * Registers a suite's hooks: before its tests a real API server, a fresh namespace and the operator
 * watching it; after them, both stopped.
 */
export function useOperatorSuite(
  prefix: string,
  overrides: Partial<OperatorConfigInput> = {},
): OperatorSuite {
  let env: KubeEnv | undefined;
  let namespace: string | undefined;
  let operator: RunningOperator | undefined;
  beforeAll(async () => {
    env = await startKubeEnv();
    namespace = await env.namespace(prefix);
    operator = await startOperator(env, namespace, overrides);
  }, 180_000);
  afterAll(async () => {
    await operator?.close();
    await env?.stop();
  }, 60_000);
  const started = () => {
    if (!env || namespace === undefined || !operator)
      throw new Error("the operator suite has not started: read it inside a test");
    return { env, namespace, operator };
  };
  return {
    get client() {
      return started().env.client;
    },
    kubectl: (args, input) => started().env.kubectl(args, input),
    get namespace() {
      return started().namespace;
    },
    get operator() {
      return started().operator;
    },
  };
}

export async function metricTotal(
  operator: RunningOperator,
  name: string,
  labels: Record<string, string> = {},
) {
  const metric = await operator.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}
