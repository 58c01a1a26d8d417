import { silentLogger } from "@strata/kit";
import type { OperatorConfigInput } from "../../src/config.js";
import { type RunningOperator, run } from "../../src/run.js";
import type { KubeEnv } from "./kube-env.js";

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
