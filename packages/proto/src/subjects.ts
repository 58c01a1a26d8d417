// NATS subjects and streams, named next to the messages they carry (see proto/).

/** UsageEvent (strata.gateway.v1) per request; the last token is the tenant id. */
export const usageSubject = (tenantId: string) => `strata.usage.v1.${tenantId}`;
export const usageStream = { name: "STRATA_USAGE", subjects: ["strata.usage.v1.>"] } as const;

/**
 * SyncBatch (strata.router.v1) from each router replica, broadcast on core NATS (no stream: the state
 * is useful only while fresh); the last token is the replica group, so separate deployments sharing
 * one NATS never mix their routing state.
 */
export const routerSyncSubject = (group: string) => `strata.router.v1.sync.${group}`;

/** ApiKeyChanged (strata.gateway.v1), broadcast (NATS core) so every gateway replica drops its cached key. */
export const apiKeyChangedSubject = "strata.gateway.v1.keys.changed";

/** BudgetLimitReached (strata.gateway.v1), once per budget period; the last token is the tenant id. */
export const budgetLimitSubject = (kind: "soft" | "hard", tenantId: string) =>
  `strata.gateway.v1.budget.${kind}_limit_reached.${tenantId}`;
export const budgetStream = { name: "STRATA_BUDGET", subjects: ["strata.gateway.v1.budget.>"] } as const;

/** LimitsChanged (strata.gateway.v1), broadcast (NATS core) so every gateway replica re-reads limit overrides. */
export const limitsChangedSubject = "strata.gateway.v1.limits.changed";

/**
 * Jobs (strata.gateway.v1 jobs.proto). Work items (JobRun, BatchStart, WebhookDelivery) go to one
 * work-queue stream, each kind on its own subject with its own consumer; messages a consumer gives up on
 * are moved to the dead-letter stream from JetStream's max-deliveries advisories, which the advisory
 * stream keeps durably. JobFinished events carry the tenant id as the last token.
 */
export const jobWorkSubjects = {
  run: "strata.gateway.v1.jobs.work.run",
  batch: "strata.gateway.v1.jobs.work.batch",
  webhook: "strata.gateway.v1.jobs.work.webhook",
} as const;
export const jobWorkStream = { name: "STRATA_JOBS", subjects: ["strata.gateway.v1.jobs.work.>"] } as const;
export const jobDeadLetterSubject = (kind: string) => `strata.gateway.v1.jobs.dead.${kind}`;
export const jobDeadLetterStream = {
  name: "STRATA_JOBS_DEAD",
  subjects: ["strata.gateway.v1.jobs.dead.>"],
} as const;
/**
 * Max-deliveries advisories of the work queue and of the usage stream: a usage event the ledger gave up
 * on is dead-lettered (kind "usage") beside the jobs' work items, listed and replayed the same way.
 */
export const jobAdvisoryStream = {
  name: "STRATA_JOBS_ADVISORIES",
  subjects: [
    "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.STRATA_JOBS.*",
    `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${usageStream.name}.*`,
  ],
} as const;
export const jobFinishedSubject = (tenantId: string) => `strata.gateway.v1.jobs.finished.${tenantId}`;
export const jobEventsStream = {
  name: "STRATA_JOB_EVENTS",
  subjects: ["strata.gateway.v1.jobs.finished.>"],
} as const;
/** JobCancelled, broadcast (NATS core) so the replica running the job aborts it. */
export const jobCancelledSubject = "strata.gateway.v1.jobs.cancelled";
