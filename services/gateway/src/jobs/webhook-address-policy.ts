import {
  type AddressKind,
  addressBytes,
  addressKind,
  type Cidr,
  cidrContains,
  parseCidr,
  unmapped,
} from "./ip-address.js";

export interface WebhookNetworkConfig {
  allowPrivateNetworks: boolean;
  /** Host names, addresses and CIDR networks allowed whatever kind of address they are. */
  allowedHosts: readonly string[];
}

/** What `allowPrivateNetworks` opens: the operator's own networks, not metadata services or multicast. */
const privateKinds: ReadonlySet<AddressKind> = new Set(["loopback", "private", "shared", "unique-local"]);

const hostName =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

/** True for what `allowedHosts` takes: a host name, an IP address, or a CIDR network. */
export function isWebhookHostEntry(entry: string): boolean {
  return parseCidr(entry) !== undefined || hostName.test(normalHost(entry));
}

/** Host names compare without case and without the root's trailing dot. */
function normalHost(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}

/**
 * Which addresses job webhooks may reach. By default only public ones: a webhook URL is chosen by a
 * tenant, and without this check it could make the gateway call services on its own host or network
 * (server-side request forgery), e.g. a cloud metadata endpoint handing out credentials.
 */
export class WebhookAddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly networks: Cidr[] = [];

  constructor(private readonly config: WebhookNetworkConfig) {
    for (const entry of config.allowedHosts) {
      const network = parseCidr(entry);
      if (network) this.networks.push({ bytes: unmapped(network.bytes), prefix: network.prefix });
      else this.hosts.add(normalHost(entry));
    }
  }

  /** True when the operator allowed this host by name: whatever it resolves to may be reached. */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(normalHost(hostname));
  }

  /** The kind of address that makes `address` unreachable for webhooks; undefined when it may be reached. */
  refusal(address: string): Exclude<AddressKind, "public"> | undefined {
    const kind = addressKind(address);
    if (kind === "public") return undefined;
    if (this.config.allowPrivateNetworks && privateKinds.has(kind)) return undefined;
    const bytes = addressBytes(address);
    if (bytes && this.networks.some((network) => cidrContains(network, unmapped(bytes)))) return undefined;
    return kind;
  }
}
