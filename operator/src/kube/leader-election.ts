import type { Logger } from "@strata/kit";
import { type Clock, systemClock } from "../clock.js";
import { isAlreadyExists, isConflict } from "./kube-api-error.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeObject } from "./kube-object.js";
import { resourceTypes } from "./resource-types.js";
import { WakeableSleep } from "./wakeable-sleep.js";

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: Pick<KubeClient, "get" | "create" | "replace">;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  clock?: Clock;
  onStartedLeading(): void;
  /** On stop() it is awaited before the Lease is released, so a successor never overlaps in-flight work. */
  onStoppedLeading(): void | Promise<void>;
}

type Attempt = "leading" | "held-elsewhere" | "failed";

/**
 * Lease-based leader election (coordination.k8s.io/v1), following client-go's leaderelection:
 * - a candidate takes the Lease only when its holder has not renewed it for a whole lease duration, timed
 *   on the candidate's own clock from when it last saw the record change (so clock skew between nodes
 *   does not matter);
 * - the leader renews every retry period and steps down when it has not managed to for `renewDeadline`,
 *   which is shorter than the lease duration: it stops reconciling before anyone else may start;
 * - writes carry the resourceVersion, so two candidates can never both win the same record.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private lastRenewal = 0;
  private stopped = false;
  private readonly sleeper = new WakeableSleep();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    if (options.renewDeadlineMs >= options.leaseDurationMs) {
      throw new Error("leader election: renewDeadline must be shorter than leaseDuration");
    }
    this.clock = options.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; with `release`, a leader hands the Lease back so a standby takes over at once. */
  async stop({ release = true } = {}): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.options.onStoppedLeading();
      if (release) await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const attempt = await this.tryAcquireOrRenew();
      if (this.stopped) break;
      const now = this.clock.now();
      if (attempt === "leading") {
        this.lastRenewal = now;
        if (!this.leading) {
          this.leading = true;
          this.options.logger.info(
            { lease: this.options.name, identity: this.options.identity },
            "became leader",
          );
          this.options.onStartedLeading();
        }
      } else if (
        this.leading &&
        (attempt === "held-elsewhere" || now - this.lastRenewal > this.options.renewDeadlineMs)
      ) {
        this.leading = false;
        this.options.logger.warn({ lease: this.options.name, attempt }, "lost leadership");
        void this.options.onStoppedLeading();
      }
      // Candidates add jitter so standbys do not hit the Lease in lockstep (client-go's JitterFactor 1.2).
      const jitter = this.leading ? 1 : 1 + Math.random() * 0.2;
      await this.sleeper.sleep(this.options.retryPeriodMs * jitter);
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { client, namespace, name, identity } = this.options;
    const now = this.clock.now();
    try {
      const lease = await client.get<Lease>(resourceTypes.lease, namespace, name);
      if (!lease) {
        await client.create<Lease>(resourceTypes.lease, this.newLease(now, undefined));
        return "leading";
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify(spec);
      if (this.observed?.record !== record) this.observed = { record, at: now };
      const holder = spec.holderIdentity ?? "";
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== identity && this.observed.at + durationMs > now) return "held-elsewhere";
      await client.replace<Lease>(resourceTypes.lease, this.newLease(now, lease));
      return "leading";
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) return "held-elsewhere";
      this.options.logger.warn({ err: error, lease: name }, "leader election: lease update failed");
      return "failed";
    }
  }

  private newLease(now: number, current: Lease | undefined): Lease {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const spec = current?.spec ?? {};
    const keepsHolder = spec.holderIdentity === identity;
    return {
      apiVersion: resourceTypes.lease.apiVersion,
      kind: resourceTypes.lease.kind,
      metadata: { name, namespace, resourceVersion: current?.metadata.resourceVersion },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: keepsHolder && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (current && !keepsHolder ? 1 : 0),
      },
    };
  }

  /** Empties the holder and shortens the lease to 1 s, as client-go's ReleaseOnCancel does. */
  private async release(): Promise<void> {
    const { client, namespace, name, identity } = this.options;
    try {
      const lease = await client.get<Lease>(resourceTypes.lease, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = microTime(this.clock.now());
      await client.replace<Lease>(resourceTypes.lease, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          renewTime: now,
          acquireTime: now,
        },
      });
    } catch (error) {
      this.options.logger.warn({ err: error, lease: name }, "leader election: could not release the lease");
    }
  }
}

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
