export { hostIPv4Address } from "./host-address.js";
export { installModelDeploymentCrd } from "./model-deployment-crd.js";
