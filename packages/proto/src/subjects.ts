// NATS subjects and streams, named next to the messages they carry (see proto/).

/** UsageEvent (strata.gateway.v1) per request; the last token is the tenant id. */
export const usageSubject = (tenantId: string) => `strata.usage.v1.${tenantId}`;
export const usageStream = { name: "STRATA_USAGE", subjects: ["strata.usage.v1.>"] } as const;
