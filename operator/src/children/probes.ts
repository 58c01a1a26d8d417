import type { V1Probe } from "@kubernetes/client-node";
import type { Engine } from "../engines/engine.js";
import type { ModelDeployment } from "../model-deployment/types.js";

const startupPeriodSeconds = 10;

/** Seconds the engine may take to download and load its weights before Kubernetes gives up on it. */
export function startupBudgetSeconds(md: ModelDeployment, engine: Engine): number {
  return md.spec.engine?.startupTimeoutSeconds ?? engine.defaultStartupSeconds;
}

/**
 * Probes on the engine's health endpoint. The startup probe carries the whole loading budget (tens of
 * minutes for large weights) so liveness can stay short: once started, an engine that stops answering
 * for ~30 s is restarted, and one that fails readiness for 15 s stops receiving traffic.
 */
export function engineProbes(md: ModelDeployment, engine: Engine): Record<string, V1Probe> {
  const httpGet = { path: engine.healthPath, port: "http" };
  return {
    startupProbe: {
      httpGet,
      periodSeconds: startupPeriodSeconds,
      timeoutSeconds: 5,
      failureThreshold: Math.ceil(startupBudgetSeconds(md, engine) / startupPeriodSeconds),
    },
    readinessProbe: { httpGet, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
  };
}
