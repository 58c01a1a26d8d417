import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsBus } from "../src/bus/nats-bus.js";
import { type NatsServerHandle, startNatsServer } from "../src/testing/nats-server.js";
import { sleep, waitFor } from "../src/testing/wait-for.js";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

const untilReconnected = (attempt: () => Promise<void>) =>
  waitFor(
    async () => {
      try {
        await attempt();
        return true;
      } catch {
        return false; // still reconnecting
      }
    },
    { timeoutMs: 30_000, intervalMs: 200, message: "the bus to work again after the restart" },
  );

describe("NATS bus specifics", () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(() => server?.stop());

  const streamMessages = async (stream: string) => {
    const connection = await connect({ servers: server.url });
    try {
      const manager = await jetstreamManager(connection);
      return (await manager.streams.info(stream)).state.messages;
    } finally {
      await connection.close();
    }
  };

  it("removes acked messages from a work-queue stream", async () => {
    const bus = await createNatsBus({ url: server.url, name: "wq-test" });
    const id = randomUUID().slice(0, 8);
    await bus.ensureStream({ name: `WQ_${id}`, subjects: [`wq.${id}.>`], retention: "workqueue" });
    await bus.publish(`wq.${id}.a`, encode("a"));
    await bus.publish(`wq.${id}.b`, encode("b"));
    expect(await streamMessages(`WQ_${id}`)).toBe(2);
    let handled = 0;
    const subscription = await bus.consume({ stream: `WQ_${id}`, durable: "worker" }, async () => {
      handled++;
    });
    await waitFor(() => handled === 2);
    await subscription.stop();
    await waitFor(async () => (await streamMessages(`WQ_${id}`)) === 0, {
      message: "acked messages removed",
    });
    await bus.close();
  });

  it("keeps messages across a server restart and resumes a running consumer after reconnecting", async () => {
    const bus = await createNatsBus({ url: server.url, name: "restart-test" });
    const id = randomUUID().slice(0, 8);
    await bus.ensureStream({ name: `RS_${id}`, subjects: [`rs.${id}.>`] });
    await bus.publish(`rs.${id}.before`, encode("before restart"));

    await server.restart();
    // A request written just before the client noticed the restart is lost and times out (5 s);
    // callers retry, as here. What matters: the stored message is still there afterwards.
    await untilReconnected(() => bus.publish(`rs.${id}.probe`, encode("probe"), { msgId: "probe" }));

    const seen: string[] = [];
    const subscription = await bus.consume({ stream: `RS_${id}`, durable: "reader" }, async (message) => {
      seen.push(decode(message.data));
    });
    await waitFor(() => seen.length === 2, { message: "the messages stored before the restart" });

    await server.restart(); // while the subscription runs: it must come back on its own
    await untilReconnected(() => bus.publish(`rs.${id}.after`, encode("after restart"), { msgId: "after" }));
    await waitFor(() => seen.length === 3, { timeoutMs: 20_000, message: "delivery after reconnect" });
    await sleep(100);
    await subscription.stop();
    await bus.close();
    expect(seen).toEqual(["before restart", "probe", "after restart"]);
  }, 60_000);

  it("fails fast with a clear error when nothing listens", async () => {
    await expect(createNatsBus({ url: "nats://127.0.0.1:1", name: "nobody" })).rejects.toThrow();
  });
});
