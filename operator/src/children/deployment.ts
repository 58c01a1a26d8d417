import type { V1Affinity, V1Deployment } from "@kubernetes/client-node";
import { engines } from "../engines/engines.js";
import type { KubeObject } from "../kube/kube-object.js";
import {
  childLabels,
  modelNameAnnotation,
  ownerReference,
  selectorLabels,
} from "../model-deployment/labels.js";
import { desiredReplicas, engineKindOf, type ModelDeployment } from "../model-deployment/types.js";
import type { ChildOptions } from "./child-options.js";
import { engineContainer } from "./engine-container.js";
import { startupBudgetSeconds } from "./probes.js";
import { nodeSelector, tolerations } from "./scheduling.js";
import { engineVolumes } from "./volumes.js";

export type Deployment = V1Deployment & KubeObject;

/** Time after the start-up budget before a stuck rollout is reported (ProgressDeadlineExceeded). */
const progressGraceSeconds = 600;

/**
 * The engine Deployment, as the operator's applied configuration: only the fields the operator decides.
 * Rolling updates surge one new pod before removing an old one, so a rollout never lowers serving
 * capacity (a cluster with no spare GPU shows the new pod as Unschedulable in the status instead).
 */
export function desiredDeployment(md: ModelDeployment, options: ChildOptions): Deployment {
  const engine = engines[engineKindOf(md)];
  const labels = childLabels(md);
  const annotations = { [modelNameAnnotation]: md.spec.model.name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: md.metadata.name,
      namespace: md.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerReference(md)],
    },
    spec: {
      replicas: desiredReplicas(md),
      selector: { matchLabels: selectorLabels(md) },
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: startupBudgetSeconds(md, engine) + progressGraceSeconds,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations },
        spec: {
          containers: [engineContainer(md, engine, options)],
          volumes: engineVolumes(md, engine).volumes,
          nodeSelector: nodeSelector(md, engine),
          tolerations: tolerations(md, engine),
          affinity: md.spec.affinity as V1Affinity | undefined,
          // Service links would inject VLLM_PORT-style variables for any Service named like an engine
          // setting (a Service called "vllm" breaks vLLM's own VLLM_PORT); engines need none of them.
          enableServiceLinks: false,
          // Lets the engine finish in-flight generations after it stops receiving new requests.
          terminationGracePeriodSeconds: 60,
        },
      },
    },
  };
}
