import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryBus } from "../src/bus/memory-bus.js";
import { createNatsBus } from "../src/bus/nats-bus.js";
import type { Bus, BusMessage } from "../src/bus/types.js";
import { type NatsServerHandle, startNatsServer } from "../src/testing/nats-server.js";
import { waitFor } from "../src/testing/wait-for.js";

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(() => server?.stop());

async function deliveries(bus: Bus, publish: (subject: string) => Promise<void>): Promise<BusMessage[]> {
  const id = randomUUID().slice(0, 8);
  await bus.ensureStream({ name: `DEC_${id}`, subjects: [`dec.${id}.>`] });
  await publish(`dec.${id}.a`);
  const received: BusMessage[] = [];
  const subscription = await bus.consume({ stream: `DEC_${id}`, durable: "reader" }, async (message) => {
    received.push(message);
  });
  await waitFor(() => received.length === 1);
  await subscription.stop();
  return received;
}

describe("a publisher's decoded object", () => {
  const event = { kind: "usage", tokens: 3 };
  const data = new TextEncoder().encode(JSON.stringify(event));

  it("reaches in-process consumers as it is, beside the bytes", async () => {
    const bus = createMemoryBus();
    const [message] = await deliveries(bus, (subject) => bus.publish(subject, data, { decoded: event }));
    expect(message!.decoded).toBe(event);
    expect(new TextDecoder().decode(message!.data)).toBe(JSON.stringify(event));
    const [plain] = await deliveries(bus, (subject) => bus.publish(subject, data));
    expect(plain!.decoded).toBeUndefined();
    await bus.close();
  });

  it("leaves encoding to the first reader of the bytes on the in-process bus", async () => {
    const bus = createMemoryBus();
    let encoded = 0;
    const encode = () => {
      encoded++;
      return data;
    };
    const [message] = await deliveries(bus, (subject) => bus.publish(subject, encode, { decoded: event }));
    expect(message!.decoded).toBe(event);
    expect(encoded).toBe(0);
    expect(new TextDecoder().decode(message!.data)).toBe(JSON.stringify(event));
    expect(new TextDecoder().decode(message!.data)).toBe(JSON.stringify(event));
    expect(encoded).toBe(1);
    await bus.close();
  });

  it("never crosses NATS: consumers decode the bytes", async () => {
    const bus = await createNatsBus({ url: server.url, name: "decoded-test" });
    const [message] = await deliveries(bus, (subject) => bus.publish(subject, data, { decoded: event }));
    expect(message!.decoded).toBeUndefined();
    expect(new TextDecoder().decode(message!.data)).toBe(JSON.stringify(event));
    // An encoder runs at once: NATS needs the bytes to publish.
    const [encoded] = await deliveries(bus, (subject) => bus.publish(subject, () => data));
    expect(new TextDecoder().decode(encoded!.data)).toBe(JSON.stringify(event));
    await bus.close();
  });
});
