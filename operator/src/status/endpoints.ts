import type { KubeObject } from "../kube/kube-object.js";
import type { EndpointStatus } from "../model-deployment/types.js";

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string };
  }>;
  ports?: Array<{ name?: string; port?: number }>;
}

/**
 * The engine endpoints published in the Service's EndpointSlices, as the router will use them:
 * `http://ip:port` of the `http` port, ready or not (a nil ready counts as ready, as the API defines).
 * Sorted, so the same slices always give the same status.
 */
export function endpointsFrom(slices: EndpointSlice[]): EndpointStatus[] {
  const byUrl = new Map<string, EndpointStatus>();
  for (const slice of slices) {
    const port = slice.ports?.find((candidate) => candidate.name === "http")?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses[0];
      if (!address) continue;
      const host = slice.addressType === "IPv6" || address.includes(":") ? `[${address}]` : address;
      const url = `http://${host}:${port}`;
      const ready = endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true;
      const name = endpoint.targetRef?.name ?? address;
      const known = byUrl.get(url);
      // The same pod may briefly appear in two slices; ready wins.
      if (!known || (!known.ready && ready)) byUrl.set(url, { name, url, ready });
    }
  }
  return [...byUrl.values()].sort((a, b) => a.name.localeCompare(b.name) || a.url.localeCompare(b.url));
}
