import { promises as dns, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { Agent } from "undici";
import type { AddressKind } from "./ip-address.js";
import type { WebhookAddressPolicy } from "./webhook-address-policy.js";
import { literalAddress } from "./webhook-url.js";

/** Resolves a host name to every address it has (the system resolver unless a test gives another). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: ResolveHost = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** A webhook was not sent because its host is, or resolves to, an address webhooks may not reach. */
export class WebhookRefusedError extends Error {
  readonly code = "ERR_WEBHOOK_ADDRESS_REFUSED";

  constructor(
    readonly host: string,
    readonly address: string,
    readonly kind: Exclude<AddressKind, "public">,
  ) {
    const target = host === address ? host : `${host} (${address})`;
    super(`refused to send a webhook to ${target}: a ${kind} address, which webhooks may not reach`);
    this.name = "WebhookRefusedError";
  }
}

/** The refusal somewhere in an error's cause chain (fetch wraps connection errors), if any. */
export function webhookRefusalIn(error: unknown): WebhookRefusedError | undefined {
  for (let current = error; current instanceof Error; current = current.cause)
    if (current instanceof WebhookRefusedError) return current;
  return undefined;
}

/** Throws for a URL naming an IP address literally that the policy refuses (sockets skip the lookup for those). */
export function checkLiteralHost(policy: Pick<WebhookAddressPolicy, "refusal">, url: URL): void {
  const address = literalAddress(url);
  const kind = address && policy.refusal(address);
  if (address && kind) throw new WebhookRefusedError(address, address, kind);
}

type Family = 0 | 4 | 6;

function familyOf(option: number | "IPv4" | "IPv6" | undefined): Family {
  if (option === 4 || option === "IPv4") return 4;
  if (option === 6 || option === "IPv6") return 6;
  return 0;
}

/**
 * The socket's own lookup: resolves the name once, drops the addresses the policy refuses, and hands
 * the socket only the rest, so the connection goes to an address that was checked. Checking first and
 * connecting by name afterwards would let a DNS answer that changes in between (rebinding) through.
 */
export function guardedLookup(
  policy: Pick<WebhookAddressPolicy, "refusal" | "allowsHost">,
  resolve: ResolveHost = systemResolver,
): LookupFunction {
  return (hostname, options, callback) => {
    const settle = (found: LookupAddress[]) => {
      const family = familyOf(options.family);
      const candidates = found.filter((entry) => family === 0 || entry.family === family);
      const allowed = policy.allowsHost(hostname)
        ? candidates
        : candidates.filter((entry) => policy.refusal(entry.address) === undefined);
      const first = allowed[0];
      if (!first) {
        const refused = candidates[0];
        const error = refused
          ? new WebhookRefusedError(hostname, refused.address, policy.refusal(refused.address)!)
          : Object.assign(new Error(`${hostname} has no address to connect to`), { code: "ENOTFOUND" });
        callback(error, "", 0);
        return;
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    };
    resolve(hostname).then(settle, (error: NodeJS.ErrnoException) => callback(error, "", 0));
  };
}

/** The connection pool webhooks are sent through: every connection it opens goes through guardedLookup. */
export function webhookAgent(
  policy: WebhookAddressPolicy,
  options: { connectTimeoutMs: number; resolve?: ResolveHost | undefined },
): Agent {
  return new Agent({
    connect: { timeout: options.connectTimeoutMs, lookup: guardedLookup(policy, options.resolve) },
  });
}
