import { isIPv4, isIPv6 } from "node:net";

/**
 * What an IP address is for, as far as an outgoing request is concerned: only `public` addresses are
 * on the internet; the rest reach the gateway's own host or network (or nothing useful).
 */
export type AddressKind =
  | "public"
  | "loopback"
  | "private" // RFC 1918, and IPv6 site-local and local-use NAT64
  | "shared" // carrier-grade NAT (RFC 6598)
  | "unique-local" // IPv6 fc00::/7
  | "link-local" // including 169.254.169.254, where clouds serve instance credentials
  | "multicast"
  | "unspecified"
  | "reserved"; // documentation, benchmarking, broadcast and other non-routable ranges

/** A network: the address's bytes (4 or 16) and how many leading bits name the network. */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

/** The bytes of an IPv4 (4) or IPv6 (16) address; undefined when the text is not an address. */
export function addressBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split(".").map(Number));
  const address = text.replace(/%.*$/, ""); // a zone (fe80::1%eth0) is not part of the address
  if (!isIPv6(address)) return undefined;
  // The URL parser writes every IPv6 form (embedded dotted quads too) as hex groups around one "::".
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = "", tail] = canonical.split("::");
  const groups = (part: string | undefined) =>
    part ? part.split(":").map((group) => parseInt(group, 16)) : [];
  const before = groups(head);
  const after = groups(tail);
  const all = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  return Uint8Array.from(all.flatMap((group) => [group >> 8, group & 0xff]));
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (all its bits). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const bytes = addressBytes(address);
  if (!bytes || extra !== undefined) return undefined;
  const bits = bytes.length * 8;
  if (prefixText === undefined) return { bytes, prefix: bits };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return { bytes, prefix: Number(prefixText) };
}

export function cidrContains(cidr: Cidr, bytes: Uint8Array): boolean {
  if (cidr.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < cidr.prefix; bit += 8) {
    const mask = (0xff << (8 - Math.min(8, cidr.prefix - bit))) & 0xff;
    const index = bit / 8;
    if (((cidr.bytes[index]! ^ bytes[index]!) & mask) !== 0) return false;
  }
  return true;
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address; anything else is itself. */
export function unmapped(bytes: Uint8Array): Uint8Array {
  return bytes.length === 16 && cidrContains(ipv4Mapped, bytes) ? bytes.slice(12) : bytes;
}

const ipv4Mapped = parseCidr("::ffff:0:0/96")!;

/** IPv6 ranges that carry an IPv4 address and reach it (NAT64, 6to4): they are what that address is. */
const embedding: [Cidr, (bytes: Uint8Array) => Uint8Array][] = [
  [parseCidr("64:ff9b::/96")!, (bytes) => bytes.slice(12)],
  [parseCidr("2002::/16")!, (bytes) => bytes.slice(2, 6)],
];

/** Non-public ranges, most specific first (the first match decides). */
const ranges: [Cidr, AddressKind][] = (
  [
    ["0.0.0.0/8", "unspecified"],
    ["10.0.0.0/8", "private"],
    ["100.64.0.0/10", "shared"],
    ["127.0.0.0/8", "loopback"],
    ["169.254.0.0/16", "link-local"],
    ["172.16.0.0/12", "private"],
    ["192.0.0.0/24", "reserved"],
    ["192.0.2.0/24", "reserved"],
    ["192.88.99.0/24", "reserved"],
    ["192.168.0.0/16", "private"],
    ["198.18.0.0/15", "reserved"],
    ["198.51.100.0/24", "reserved"],
    ["203.0.113.0/24", "reserved"],
    ["224.0.0.0/4", "multicast"],
    ["240.0.0.0/4", "reserved"],
    ["::/128", "unspecified"],
    ["::1/128", "loopback"],
    ["::/96", "reserved"],
    ["64:ff9b:1::/48", "private"],
    ["100::/64", "reserved"],
    ["2001:db8::/32", "reserved"],
    ["fc00::/7", "unique-local"],
    ["fe80::/10", "link-local"],
    ["fec0::/10", "private"],
    ["ff00::/8", "multicast"],
  ] as const
).map(([cidr, kind]) => [parseCidr(cidr)!, kind]);

/** What kind of address this is; text that is not an IP address is `reserved` (never reachable). */
export function addressKind(text: string): AddressKind {
  const parsed = addressBytes(text);
  if (!parsed) return "reserved";
  let bytes = unmapped(parsed);
  for (const [cidr, extract] of embedding) if (cidrContains(cidr, bytes)) bytes = extract(bytes);
  return ranges.find(([cidr]) => cidrContains(cidr, bytes))?.[1] ?? "public";
}
