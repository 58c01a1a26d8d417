import { type Bus, createMemoryBus, silentLogger } from "@strata/kit";
import { waitFor } from "@strata/kit/testing";
import { describe, expect, it } from "vitest";
import { BackgroundNatsBus } from "../src/sync/background-nats-bus.js";

describe("BackgroundNatsBus", () => {
  it("refuses broadcasts until connected, retries, then subscribes what was asked for meanwhile", async () => {
    const memory = createMemoryBus();
    let attempts = 0;
    let closedBus = false;
    const connect = async (): Promise<Bus> => {
      attempts++;
      if (attempts < 3) throw new Error("connection refused");
      return {
        ...memory,
        broadcast: (subject, data) => memory.broadcast(subject, data),
        subscribe: (subject, handler) => memory.subscribe(subject, handler),
        close: async () => {
          closedBus = true;
        },
      } as Bus;
    };
    const bus = new BackgroundNatsBus({
      url: "nats://127.0.0.1:1",
      name: "test",
      logger: silentLogger(),
      connect,
      retryMinMs: 5,
    });
    const received: string[] = [];
    const subscription = bus.subscribe("strata.test.>", (subject) => received.push(subject));
    expect(() => bus.broadcast("strata.test.early", new Uint8Array())).toThrow("not connected to NATS yet");
    await waitFor(() => bus.connected, { message: "the third attempt to connect" });
    expect(attempts).toBe(3);
    bus.broadcast("strata.test.late", new Uint8Array());
    await waitFor(() => received.length === 1, { message: "the broadcast" });
    expect(received).toEqual(["strata.test.late"]);
    subscription.stop();
    bus.broadcast("strata.test.after-stop", new Uint8Array());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toHaveLength(1);
    await bus.close();
    expect(closedBus).toBe(true);
    await memory.close();
  });

  it("stops retrying when closed before NATS was ever reachable", async () => {
    let attempts = 0;
    const bus = new BackgroundNatsBus({
      url: "nats://127.0.0.1:1",
      name: "test",
      logger: silentLogger(),
      connect: async () => {
        attempts++;
        throw new Error("connection refused");
      },
      retryMinMs: 60_000,
    });
    await waitFor(() => attempts === 1);
    const started = Date.now();
    await bus.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(attempts).toBe(1);
    expect(bus.connected).toBe(false);
  });
});
