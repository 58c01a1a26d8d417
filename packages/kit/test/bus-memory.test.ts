import { describe, expect, it } from "vitest";
import { createMemoryBus } from "../src/bus/memory-bus.js";
import { sleep, waitFor } from "../src/testing/wait-for.js";

const encode = (text: string) => new TextEncoder().encode(text);

describe("memory bus specifics", () => {
  it("removes acked messages from a work-queue stream but keeps exhausted ones", async () => {
    const bus = createMemoryBus();
    await bus.ensureStream({ name: "JOBS", subjects: ["jobs.>"], retention: "workqueue" });
    await bus.publish("jobs.ok", encode("ok"));
    await bus.publish("jobs.poison", encode("poison"));
    const settled: string[] = [];
    const subscription = await bus.consume(
      { stream: "JOBS", durable: "worker", maxDeliver: 2, backoffMs: [10] },
      async (message) => {
        settled.push(`${message.subject}#${message.deliveryCount}`);
        if (message.subject === "jobs.poison") throw new Error("bad");
      },
    );
    await waitFor(() => settled.length === 3, { message: "three deliveries" });
    await sleep(50);
    await subscription.stop();
    expect(bus.streamInfo("JOBS")).toEqual({ messages: 1 }); // the poison message stays, as in JetStream
    await bus.close();
  });

  it("times each delivery's ack-wait from its own delivery, with one timer for all of them", async () => {
    const bus = createMemoryBus();
    await bus.ensureStream({ name: "JOBS", subjects: ["jobs.>"], retention: "workqueue" });
    const started = performance.now();
    const deliveries: { subject: string; count: number; atMs: number }[] = [];
    const subscription = await bus.consume(
      { stream: "JOBS", durable: "worker", ackWaitMs: 300, concurrency: 4 },
      async (message) => {
        deliveries.push({
          subject: message.subject,
          count: message.deliveryCount,
          atMs: performance.now() - started,
        });
        if (message.deliveryCount === 1) await sleep(2_000); // never acked in time: redelivered
      },
    );
    await bus.publish("jobs.a", encode("a"));
    await sleep(200);
    await bus.publish("jobs.b", encode("b"));
    await waitFor(() => deliveries.length === 4, { message: "both messages redelivered" });
    const at = (subject: string, count: number) =>
      deliveries.find((d) => d.subject === subject && d.count === count)!.atMs;
    // b's ack-wait runs from its own delivery, not from a's deadline when the shared timer fired.
    expect(at("jobs.a", 2) - at("jobs.a", 1)).toBeGreaterThanOrEqual(295);
    expect(at("jobs.b", 2) - at("jobs.b", 1)).toBeGreaterThanOrEqual(295);
    expect(at("jobs.b", 2)).toBeGreaterThan(at("jobs.a", 2) + 100);
    await subscription.stop();
    await bus.close();
  });

  it("refuses a second work-queue consumer over the same subjects", async () => {
    const bus = createMemoryBus();
    await bus.ensureStream({ name: "JOBS", subjects: ["jobs.>"], retention: "workqueue" });
    const first = await bus.consume(
      { stream: "JOBS", durable: "a", filterSubject: "jobs.chat" },
      async () => {},
    );
    await expect(bus.consume({ stream: "JOBS", durable: "b" }, async () => {})).rejects.toThrow(/overlaps/);
    await first.stop();
    await bus.close();
  });

  it("deletes interest-retained messages once every consumer acked them", async () => {
    const bus = createMemoryBus();
    await bus.ensureStream({ name: "EVENTS", subjects: ["events.>"], retention: "interest" });
    const seenByA: string[] = [];
    const a = await bus.consume(
      { stream: "EVENTS", durable: "a" },
      async (m) => void seenByA.push(m.subject),
    );
    const bWasSlow = await bus.consume({ stream: "EVENTS", durable: "b" }, async () => sleep(200));
    await bus.publish("events.one", encode("1"));
    await waitFor(() => seenByA.length === 1);
    expect(bus.streamInfo("EVENTS")).toEqual({ messages: 1 }); // b has not acked yet
    await bWasSlow.stop();
    expect(bus.streamInfo("EVENTS")).toEqual({ messages: 0 });
    await a.stop();
    await bus.close();
  });

  it("applies maxMsgs, maxAge and the duplicate window with the injected clock", async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ now: () => now });
    await bus.ensureStream({
      name: "LIMITED",
      subjects: ["limited.*"],
      maxMsgs: 2,
      maxAgeMs: 60_000,
      duplicateWindowMs: 10_000,
    });
    await bus.publish("limited.a", encode("1"), { msgId: "x" });
    await bus.publish("limited.a", encode("1 again"), { msgId: "x" });
    expect(bus.streamInfo("LIMITED")).toEqual({ messages: 1 });
    now += 11_000; // outside the duplicate window: the same id is a new message
    await bus.publish("limited.a", encode("1 later"), { msgId: "x" });
    await bus.publish("limited.b", encode("2"));
    expect(bus.streamInfo("LIMITED")).toEqual({ messages: 2 }); // maxMsgs dropped the oldest
    now += 61_000;
    expect(bus.streamInfo("LIMITED")).toEqual({ messages: 0 }); // all older than maxAge
    await bus.close();
  });

  it("refuses streams with overlapping subjects and changes of retention", async () => {
    const bus = createMemoryBus();
    await bus.ensureStream({ name: "A", subjects: ["a.>"] });
    await expect(bus.ensureStream({ name: "B", subjects: ["a.b"] })).rejects.toThrow(/overlap/);
    await expect(bus.ensureStream({ name: "A", subjects: ["a.>"], retention: "workqueue" })).rejects.toThrow(
      /retention/,
    );
    await bus.close();
    await expect(bus.publish("a.x", encode("late"))).rejects.toThrow(/closed/);
  });
});
