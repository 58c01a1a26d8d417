import { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { holdUntilRouted } from "../src/providers/engine/scale-from-zero.js";

const scalingUp = () => new StrataError("model_scaling_up", 'model "m" is scaled to zero');
const unhealthy = () => new StrataError("no_healthy_upstream", 'no healthy endpoint for model "m"');

/** A router that answers "not yet" a given number of times, then routes. */
function routerAnswering(notYet: Array<() => StrataError>) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    route: async () => {
      const answer = notYet[calls++];
      if (answer) throw answer();
      return { endpoint: "replica-0" };
    },
  };
}

const quick = { initialBackoffMs: 1, maxBackoffMs: 5, model: "m" };

describe("holdUntilRouted", () => {
  it("routes again until a replica takes the request, through the health-check gap", async () => {
    const router = routerAnswering([scalingUp, scalingUp, unhealthy]);
    const signal = new AbortController().signal;
    await expect(holdUntilRouted(router.route, { ...quick, waitMs: 60_000, signal })).resolves.toEqual({
      endpoint: "replica-0",
    });
    expect(router.calls).toBe(4);
  });

  it("gives up with a 503 that says why once the bound passes", async () => {
    const router = routerAnswering(Array.from({ length: 1_000_000 }, () => scalingUp));
    let now = 0;
    const signal = new AbortController().signal;
    const held = holdUntilRouted(
      async () => {
        now += 1_000;
        return router.route();
      },
      { ...quick, waitMs: 10_000, signal, now: () => now },
    );
    await expect(held).rejects.toMatchObject({
      code: "no_healthy_upstream",
      retryAfterSeconds: 30,
      message: 'model "m" is scaled to zero and no replica became ready within 10 s; retry later',
    });
    expect(router.calls).toBe(10);
  });

  it("stops waiting as soon as the client goes away", async () => {
    const router = routerAnswering(Array.from({ length: 1_000_000 }, () => scalingUp));
    const client = new AbortController();
    const held = holdUntilRouted(router.route, {
      model: "m",
      waitMs: 600_000,
      initialBackoffMs: 60_000,
      signal: client.signal,
    });
    client.abort(new StrataError("client_closed", "the client closed the connection"));
    await expect(held).rejects.toMatchObject({ code: "client_closed" });
    expect(router.calls).toBe(0);
  });

  it("passes on any other failure at once", async () => {
    const router = routerAnswering([scalingUp, () => new StrataError("model_not_found", "gone")]);
    const signal = new AbortController().signal;
    await expect(holdUntilRouted(router.route, { ...quick, waitMs: 60_000, signal })).rejects.toMatchObject({
      code: "model_not_found",
    });
  });
});
