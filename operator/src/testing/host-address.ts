import { networkInterfaces } from "node:os";

/**
 * This machine's first non-loopback IPv4 address, for engines a test publishes in an EndpointSlice:
 * the API server refuses loopback addresses there. Undefined on a machine without one.
 */
export function hostIPv4Address(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((address) => address.family === "IPv4" && !address.internal);
    if (found) return found.address;
  }
  return undefined;
}
