import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { consumerAdvisorySubject, parseConsumerAdvisory } from "../src/bus/advisories.js";
import { createMemoryBus } from "../src/bus/memory-bus.js";
import { createNatsBus } from "../src/bus/nats-bus.js";
import type { Bus, BusMessage, StreamSpec } from "../src/bus/types.js";
import { type NatsServerHandle, startNatsServer } from "../src/testing/nats-server.js";
import { sleep, waitFor } from "../src/testing/wait-for.js";

/**
 * One contract, two implementations: services must not be able to tell the in-process bus from
 * NATS JetStream apart. Every test uses its own stream, so they do not interfere.
 */
interface Implementation {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A new client of the same underlying bus (NATS: a new connection; memory: the one bus). */
  connect(): Promise<Bus>;
}

let nats: NatsServerHandle | undefined;
let memoryBus: Bus | undefined;
const implementations: Implementation[] = [
  {
    name: "memory",
    setUp: async () => {
      memoryBus = createMemoryBus();
    },
    tearDown: async () => memoryBus?.close(),
    // Every "connection" shares the one in-process bus; closing one must not close the bus.
    connect: async () => {
      const bus = memoryBus!;
      return {
        ensureStream: (spec) => bus.ensureStream(spec),
        publish: (subject, data, options) => bus.publish(subject, data, options),
        consume: (spec, handler) => bus.consume(spec, handler),
        getMessage: (stream, seq) => bus.getMessage(stream, seq),
        deleteMessage: (stream, seq) => bus.deleteMessage(stream, seq),
        broadcast: (subject, data) => bus.broadcast(subject, data),
        subscribe: (subject, handler) => bus.subscribe(subject, handler),
        close: async () => {},
      };
    },
  },
  {
    name: "nats",
    setUp: async () => {
      nats = await startNatsServer();
    },
    tearDown: async () => nats?.stop(),
    connect: () => createNatsBus({ url: nats!.url, name: "bus-contract-test" }),
  },
];

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

describe.each(implementations)("$name bus contract", (implementation) => {
  const opened: Bus[] = [];
  const connect = async () => {
    const bus = await implementation.connect();
    opened.push(bus);
    return bus;
  };
  const newStream = async (bus: Bus, extra: Partial<StreamSpec> = {}) => {
    const id = randomUUID().slice(0, 8);
    const spec: StreamSpec = { name: `test_${id}`, subjects: [`test.${id}.>`], ...extra };
    await bus.ensureStream(spec);
    return { stream: spec.name, subject: (suffix: string) => `test.${id}.${suffix}` };
  };

  beforeAll(() => implementation.setUp());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((bus) => bus.close()));
  });
  afterAll(() => implementation.tearDown());

  it("fans broadcasts out to every current subscriber of a matching pattern, and stops on request", async () => {
    const sender = await connect();
    const receivers = [await connect(), await connect()];
    const id = randomUUID().slice(0, 8);
    const received: string[][] = [[], []];
    const subscriptions = receivers.map((bus, index) =>
      bus.subscribe(`sync.${id}.*`, (subject, data) => received[index]!.push(`${subject}=${decode(data)}`)),
    );
    await sleep(100); // NATS: let the subscriptions reach the server
    sender.broadcast(`sync.${id}.a`, encode("1"));
    sender.broadcast(`other.${id}.a`, encode("ignored"));
    await waitFor(() => received.every((list) => list.length === 1), { message: "broadcast delivered" });
    expect(received).toEqual([[`sync.${id}.a=1`], [`sync.${id}.a=1`]]);
    subscriptions[0]!.stop();
    await sleep(50);
    sender.broadcast(`sync.${id}.b`, encode("2"));
    await waitFor(() => received[1]!.length === 2, { message: "second broadcast delivered" });
    await sleep(50);
    expect(received[0]).toHaveLength(1);
  });

  it("delivers published messages with subject, data and headers, in order", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.ensureStream({ name: stream, subjects: [subject(">")] }); // idempotent re-run
    for (const n of [1, 2, 3]) {
      await bus.publish(subject(`item.${n}`), encode(`payload ${n}`), { headers: { "x-tenant": `t${n}` } });
    }
    const received: BusMessage[] = [];
    const subscription = await bus.consume({ stream, durable: "reader" }, async (message) => {
      received.push(message);
    });
    await waitFor(() => received.length === 3, { message: "three messages" });
    await subscription.stop();
    expect(received.map((message) => message.subject)).toEqual([1, 2, 3].map((n) => subject(`item.${n}`)));
    expect(received.map((message) => decode(message.data))).toEqual(["payload 1", "payload 2", "payload 3"]);
    expect(received.map((message) => message.headers["x-tenant"])).toEqual(["t1", "t2", "t3"]);
    expect(received.every((message) => message.deliveryCount === 1)).toBe(true);
  });

  it("rejects a publish that no stream captures", async () => {
    const bus = await connect();
    await expect(bus.publish(`nowhere.${randomUUID()}`, encode("lost"))).rejects.toThrow();
  });

  it("redelivers after a throwing handler, with a growing delivery count", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("flaky"));
    const deliveries: number[] = [];
    const subscription = await bus.consume(
      { stream, durable: "worker", backoffMs: [50] },
      async (message) => {
        deliveries.push(message.deliveryCount);
        if (message.deliveryCount < 3) throw new Error("transient failure");
      },
    );
    await waitFor(() => deliveries.length >= 3, { message: "three deliveries" });
    await sleep(300); // would show a fourth delivery if the successful one had not been acked
    await subscription.stop();
    expect(deliveries).toEqual([1, 2, 3]);
  });

  it("stops delivering after maxDeliver attempts", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("poison"));
    let deliveries = 0;
    const subscription = await bus.consume(
      { stream, durable: "worker", maxDeliver: 3, backoffMs: [20] },
      async () => {
        deliveries++;
        throw new Error("always fails");
      },
    );
    await waitFor(() => deliveries >= 3, { message: "three deliveries" });
    await sleep(500);
    await subscription.stop();
    expect(deliveries).toBe(3);
  });

  it("does not redeliver a terminated message", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("bad input"));
    await bus.publish(subject("job"), encode("good input"));
    const seen: string[] = [];
    const subscription = await bus.consume(
      { stream, durable: "worker", backoffMs: [20] },
      async (message) => {
        seen.push(decode(message.data));
        if (decode(message.data) === "bad input") {
          message.term();
          throw new Error("thrown after term: must not nak a settled message");
        }
      },
    );
    await waitFor(() => seen.length >= 2, { message: "both messages" });
    await sleep(300);
    await subscription.stop();
    expect(seen).toEqual(["bad input", "good input"]);
  });

  it("drops a second publish with the same msgId", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("event"), encode("first"), { msgId: "same-id" });
    await bus.publish(subject("event"), encode("duplicate"), { msgId: "same-id" });
    await bus.publish(subject("event"), encode("other"), { msgId: "other-id" });
    const seen: string[] = [];
    const subscription = await bus.consume({ stream, durable: "reader" }, async (message) => {
      seen.push(decode(message.data));
    });
    await waitFor(() => seen.length >= 2, { message: "two messages" });
    await sleep(200);
    await subscription.stop();
    expect(seen).toEqual(["first", "other"]);
  });

  it("never runs more handlers at once than the concurrency bound", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    for (let n = 0; n < 12; n++) await bus.publish(subject("job"), encode(String(n)));
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const subscription = await bus.consume({ stream, durable: "worker", concurrency: 3 }, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(60);
      running--;
      done++;
    });
    await waitFor(() => done === 12, { message: "all twelve jobs" });
    await subscription.stop();
    expect(maxRunning).toBe(3);
  });

  it("stop() waits for in-flight handlers and their acks", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("slow"));
    let started = false;
    let finished = false;
    const subscription = await bus.consume({ stream, durable: "worker" }, async () => {
      started = true;
      await sleep(400);
      finished = true;
    });
    await waitFor(() => started, { message: "handler start" });
    await subscription.stop();
    expect(finished).toBe(true);

    // The drained message was acked: a new subscription of the same durable does not see it again.
    const again: string[] = [];
    const next = await bus.consume({ stream, durable: "worker" }, async (message) => {
      again.push(decode(message.data));
    });
    await bus.publish(subject("job"), encode("after restart"));
    await waitFor(() => again.length >= 1, { message: "the new message" });
    await next.stop();
    expect(again).toEqual(["after restart"]);
  });

  it("keeps messages for a durable consumer while no subscriber runs", async () => {
    const publisher = await connect();
    const { stream, subject } = await newStream(publisher);
    const first = await (await connect()).consume({ stream, durable: "durable" }, async () => {});
    await first.stop();
    await publisher.publish(subject("event"), encode("while away 1"));
    await publisher.publish(subject("event"), encode("while away 2"));
    const seen: string[] = [];
    const second = await (await connect()).consume({ stream, durable: "durable" }, async (message) => {
      seen.push(decode(message.data));
    });
    await waitFor(() => seen.length >= 2, { message: "messages published while away", timeoutMs: 5_000 });
    await second.stop();
    expect(seen).toEqual(["while away 1", "while away 2"]);
  });

  it("redelivers when a handler exceeds ackWait without calling working()", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("stuck"));
    const deliveries: number[] = [];
    const subscription = await bus.consume(
      { stream, durable: "worker", ackWaitMs: 1_000, concurrency: 2 },
      async (message) => {
        deliveries.push(message.deliveryCount);
        if (message.deliveryCount === 1) await sleep(1_800);
      },
    );
    await waitFor(() => deliveries.length >= 2, { message: "a redelivery", timeoutMs: 5_000 });
    await subscription.stop();
    expect(deliveries).toEqual([1, 2]);
  });

  it("working() keeps a slow handler's message from being redelivered", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("job"), encode("long"));
    const deliveries: number[] = [];
    const subscription = await bus.consume(
      { stream, durable: "worker", ackWaitMs: 1_000, concurrency: 2 },
      async (message) => {
        deliveries.push(message.deliveryCount);
        for (let beat = 0; beat < 4; beat++) {
          await sleep(400);
          message.working();
        }
      },
    );
    await waitFor(() => deliveries.length >= 1, { message: "the first delivery" });
    await subscription.stop(); // waits for the 1.6 s handler
    await sleep(1_200);
    expect(deliveries).toEqual([1]);
  });

  it("reads and deletes stored messages by the stream sequence their deliveries carry", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus);
    await bus.publish(subject("a"), encode("first"), { headers: { "x-kind": "a" } });
    await bus.publish(subject("b"), encode("second"));
    const received: BusMessage[] = [];
    const subscription = await bus.consume({ stream, durable: "reader" }, async (message) => {
      received.push(message);
    });
    await waitFor(() => received.length === 2, { message: "two messages" });
    await subscription.stop();
    const [first, second] = received.map((message) => message.streamSeq);
    expect(second).toBe(first! + 1);
    const stored = await bus.getMessage(stream, first!);
    expect(stored).toMatchObject({ stream, seq: first, subject: subject("a") });
    expect(decode(stored!.data)).toBe("first");
    expect(stored!.headers["x-kind"]).toBe("a");
    expect(await bus.deleteMessage(stream, first!)).toBe(true);
    expect(await bus.getMessage(stream, first!)).toBeUndefined();
    expect(await bus.deleteMessage(stream, first!)).toBe(false);
    expect(decode((await bus.getMessage(stream, second!))!.data)).toBe("second");
  });

  it("publishes max-deliveries and terminated advisories that a capturing stream keeps", async () => {
    const bus = await connect();
    const { stream, subject } = await newStream(bus, { retention: "workqueue" });
    const advisories = `adv_${stream}`;
    await bus.ensureStream({
      name: advisories,
      subjects: [
        consumerAdvisorySubject("MAX_DELIVERIES", stream),
        consumerAdvisorySubject("MSG_TERMINATED", stream),
      ],
    });
    await bus.publish(subject("job"), encode("poison"));
    await bus.publish(subject("job"), encode("bad input"));
    const deliveries: string[] = [];
    const worker = await bus.consume(
      { stream, durable: "worker", maxDeliver: 2, backoffMs: [20] },
      async (message) => {
        deliveries.push(`${decode(message.data)}#${message.deliveryCount}`);
        if (decode(message.data) === "bad input") message.term();
        else throw new Error("always fails");
      },
    );
    const seen: { subject: string; advisory: ReturnType<typeof parseConsumerAdvisory> }[] = [];
    const listener = await bus.consume({ stream: advisories, durable: "dead-letters" }, async (message) => {
      seen.push({ subject: message.subject, advisory: parseConsumerAdvisory(message.data) });
    });
    await waitFor(() => seen.length === 2, { message: "both advisories", timeoutMs: 10_000 });
    await worker.stop();
    await listener.stop();
    expect(deliveries.sort()).toEqual(["bad input#1", "poison#1", "poison#2"]);
    const exhausted = seen.find((entry) => entry.subject.includes(".MAX_DELIVERIES."))!;
    expect(exhausted.subject).toBe(consumerAdvisorySubject("MAX_DELIVERIES", stream, "worker"));
    expect(exhausted.advisory).toMatchObject({ stream, consumer: "worker", deliveries: 2 });
    // The given-up message stays in the work queue until it is moved: read it by the advisory's sequence.
    const poison = await bus.getMessage(stream, exhausted.advisory!.stream_seq);
    expect(decode(poison!.data)).toBe("poison");
    const terminated = seen.find((entry) => entry.subject.includes(".MSG_TERMINATED."))!;
    expect(terminated.advisory).toMatchObject({ stream, consumer: "worker", deliveries: 1 });
    expect(await bus.getMessage(stream, terminated.advisory!.stream_seq)).toBeUndefined();
  });
});
