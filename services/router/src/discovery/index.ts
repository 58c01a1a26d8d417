/**
 * Kubernetes discovery: ModelDeployments and their EndpointSlices as endpoints and routing settings.
 * KubernetesDiscovery itself is not exported here: startDiscovery loads it (and the Kubernetes client)
 * only when discovery is enabled.
 */

export { DemandRecorder, demandAnnotation } from "./demand-recorder.js";
export { listWithDiscovered, withDiscoveredModels } from "./discovered-model-list.js";
export { DiscoveredModelRouter, type ModelResolver } from "./discovered-model-router.js";
export { DiscoveredRouting } from "./discovered-routing.js";
export {
  buildDiscoveredState,
  type DiscoveredModel,
  type DiscoveredState,
  type StaticNames,
} from "./discovered-state.js";
export { DiscoveredStrategies, type StrategyFactory } from "./discovered-strategies.js";
export { type KubernetesDiscoveryConfig, kubernetesDiscoverySchema } from "./discovery-config.js";
export { enginePortName, readyAddresses, serviceNameLabel } from "./endpoint-slice.js";
export {
  kvCapacityAnnotation,
  modelDeploymentGroup,
  modelDeploymentLabel,
  modelDeploymentPlural,
  modelDeploymentVersion,
} from "./model-deployment.js";
export { type Discovery, startDiscovery } from "./start-discovery.js";
