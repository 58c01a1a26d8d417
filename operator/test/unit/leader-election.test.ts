import { silentLogger } from "@strata/kit";
import { waitFor } from "@strata/kit/testing";
import { afterEach, describe, expect, it } from "vitest";
import { KubeApiError } from "../../src/kube/kube-api-error.js";
import type { KubeObject } from "../../src/kube/kube-object.js";
import { LeaderElector } from "../../src/kube/leader-election.js";

type Lease = KubeObject & { spec?: Record<string, unknown> };

/** An in-memory Lease store with the API server's optimistic concurrency: a stale write gets 409. */
class FakeLeases {
  lease: Lease | undefined;
  failing = false;
  reads = 0;
  private version = 0;

  async get<T>(): Promise<T | undefined> {
    this.reads += 1;
    if (this.failing) throw new KubeApiError(503, "ServiceUnavailable", "etcd is away");
    return structuredClone(this.lease) as T | undefined;
  }

  async create<T>(_type: unknown, object: Lease): Promise<T> {
    if (this.lease) throw new KubeApiError(409, "AlreadyExists", "exists");
    return this.store(object) as T;
  }

  async replace<T>(_type: unknown, object: Lease): Promise<T> {
    if (this.failing) throw new KubeApiError(503, "ServiceUnavailable", "etcd is away");
    if (object.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
      throw new KubeApiError(409, "Conflict", "the object has been modified");
    }
    return this.store(object) as T;
  }

  /** Another replica renewing its hold. */
  renewAs(holder: string): void {
    this.store({
      metadata: { name: "l", namespace: "ns" },
      spec: { holderIdentity: holder, leaseDurationSeconds: 4, renewTime: `t${this.version}` },
    });
  }

  private store(object: Lease): Lease {
    this.version += 1;
    this.lease = {
      ...structuredClone(object),
      metadata: { ...object.metadata, resourceVersion: String(this.version) },
    };
    return structuredClone(this.lease);
  }
}

describe("LeaderElector", () => {
  let now = 0;
  const electors: LeaderElector[] = [];
  const start = (leases: FakeLeases, identity: string, events: string[] = []) => {
    const elector = new LeaderElector({
      client: leases as never,
      namespace: "ns",
      name: "l",
      identity,
      leaseDurationMs: 4_000,
      renewDeadlineMs: 3_000,
      retryPeriodMs: 5,
      logger: silentLogger(),
      clock: { now: () => now },
      onStartedLeading: () => void events.push("started"),
      onStoppedLeading: () => void events.push("stopped"),
    });
    electors.push(elector);
    elector.start();
    return elector;
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

  afterEach(async () => {
    await Promise.all(electors.splice(0).map((elector) => elector.stop({ release: false })));
    now = 0;
  });

  it("takes a Lease only after its holder stopped renewing for a whole lease duration, on its own clock", async () => {
    const leases = new FakeLeases();
    leases.renewAs("other");
    const elector = start(leases, "me");
    // The candidate must have seen the record at t=0 before the clock moves.
    await waitFor(() => leases.reads > 0, { timeoutMs: 5_000 });
    now = 3_900;
    await settle();
    expect(elector.isLeader).toBe(false);
    now = 4_100;
    await waitFor(() => elector.isLeader, { timeoutMs: 5_000, message: "takeover" });
    expect(leases.lease?.spec).toMatchObject({
      holderIdentity: "me",
      leaseTransitions: 1,
      leaseDurationSeconds: 4,
    });
    expect(leases.lease?.spec?.renewTime).toMatch(/^1970-01-01T00:00:04\.100000Z$/);
  });

  it("never takes a Lease whose holder keeps renewing, however much time passes", async () => {
    const leases = new FakeLeases();
    leases.renewAs("other");
    const elector = start(leases, "me");
    for (let second = 1; second <= 10; second++) {
      now = second * 1_000;
      leases.renewAs("other");
      await settle();
      expect(elector.isLeader).toBe(false);
    }
  });

  it("steps down when it cannot renew within the renew deadline, and hands the Lease back on stop", async () => {
    const leases = new FakeLeases();
    const events: string[] = [];
    const elector = start(leases, "me", events);
    await waitFor(() => elector.isLeader, { timeoutMs: 5_000 });
    leases.failing = true;
    now = 2_000;
    await settle();
    expect(elector.isLeader).toBe(true);
    now = 3_100;
    await waitFor(() => !elector.isLeader, { timeoutMs: 5_000, message: "step down" });
    expect(events).toEqual(["started", "stopped"]);
    leases.failing = false;
    await waitFor(() => elector.isLeader, { timeoutMs: 5_000, message: "lead again" });
    await elector.stop();
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
    expect(events).toEqual(["started", "stopped", "started", "stopped"]);
  });
});
