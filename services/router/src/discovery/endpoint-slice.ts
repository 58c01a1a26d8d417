/**
 * Ready engine addresses from EndpointSlices (discovery.k8s.io/v1). The operator names a
 * ModelDeployment's Service after it and calls the engine port `http`; the EndpointSlice controller
 * gives each slice the Service's labels plus `kubernetes.io/service-name`.
 */
import type { V1EndpointSlice } from "@kubernetes/client-node";

export const serviceNameLabel = "kubernetes.io/service-name";
/** The Service port the engine listens on. */
export const enginePortName = "http";

/** In order of preference: a dual-stack Pod appears in an IPv4 and an IPv6 slice, and is used once. */
export const addressTypes = ["IPv4", "IPv6", "FQDN"];

export interface SliceAddress {
  /** Pod name, or `ip:port` when the address has no Pod behind it. */
  name: string;
  url: string;
}

/**
 * The addresses of one slice that may take new requests. `ready` unset counts as ready (the API's
 * documented reading of an unknown state); terminating addresses are left out so they drain: requests
 * already streaming from them finish, because the gateway talks to the engine directly.
 */
export function readyAddresses(slice: V1EndpointSlice): SliceAddress[] {
  // FQDN slices are deprecated but valid (hand-made slices naming hosts outside the cluster).
  if (!addressTypes.includes(slice.addressType)) return [];
  const port = enginePort(slice);
  if (port === undefined) return [];
  const addresses: SliceAddress[] = [];
  for (const endpoint of slice.endpoints ?? []) {
    if (endpoint.conditions?.ready === false || endpoint.conditions?.terminating === true) continue;
    // All addresses of one endpoint are the same Pod (kube-proxy uses only the first).
    const address = endpoint.addresses[0];
    if (address === undefined) continue;
    const host = slice.addressType === "IPv6" ? `[${address}]` : address;
    const pod = endpoint.targetRef?.kind === "Pod" ? endpoint.targetRef.name : undefined;
    addresses.push({ name: pod ?? `${host}:${port}`, url: `http://${host}:${port}` });
  }
  return addresses;
}

/** The `http` port, or the only port of a slice whose Service has a single unnamed one. */
function enginePort(slice: V1EndpointSlice): number | undefined {
  const ports = slice.ports ?? [];
  const named = ports.find((port) => port.name === enginePortName);
  const port = named ?? (ports.length === 1 && !ports[0]?.name ? ports[0] : undefined);
  if (port?.port === undefined || (port.protocol !== undefined && port.protocol !== "TCP")) return undefined;
  return port.port;
}

/** The Service a slice belongs to. */
export function sliceService(slice: V1EndpointSlice): string | undefined {
  return slice.metadata?.labels?.[serviceNameLabel];
}
