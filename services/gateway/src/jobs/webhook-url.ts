import { isIP } from "node:net";
import { z } from "zod";
import type { AddressKind } from "./ip-address.js";
import type { WebhookAddressPolicy } from "./webhook-address-policy.js";

export const maxWebhookUrlLength = 2_048;

/** Why a webhook URL cannot be used, before any address is looked at; undefined when it is fine. */
function syntaxProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute http or https URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http or https URL";
  // Credentials in the URL would be sent to whoever answers it and shown on every GET of the job.
  if (url.username || url.password)
    return "must not contain a user name or password; verify the Strata-Signature header instead";
  if (!url.hostname) return "must name a host";
  return undefined;
}

export const webhookUrlSchema = z
  .string({ error: "must be a string" })
  .max(maxWebhookUrlLength, `must be at most ${maxWebhookUrlLength} characters`)
  .superRefine((text, context) => {
    const problem = syntaxProblem(text);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

/** The IP address a URL names literally (`http://10.0.0.1/`, `http://[::1]/`); such hosts are never looked up. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return isIP(host) ? host : undefined;
}

/** `localhost` and its subdomains always mean this host (RFC 6761), whatever a resolver says. */
function isLocalhostName(hostname: string): boolean {
  return /(^|\.)localhost\.?$/i.test(hostname);
}

/**
 * What can be refused when a job is submitted, without resolving anything: an IP address or a
 * localhost name the policy does not allow. Other names are checked when the webhook is sent (a name
 * can resolve differently then).
 */
export function submittedHostRefusal(
  policy: Pick<WebhookAddressPolicy, "refusal" | "allowsHost">,
  url: URL,
): { host: string; kind: Exclude<AddressKind, "public"> } | undefined {
  const literal = literalAddress(url);
  if (literal) {
    const kind = policy.refusal(literal);
    return kind && { host: literal, kind };
  }
  if (!isLocalhostName(url.hostname) || policy.allowsHost(url.hostname)) return undefined;
  const kind = policy.refusal("127.0.0.1");
  return kind && { host: url.hostname, kind };
}
