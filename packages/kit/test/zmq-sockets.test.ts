import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../src/testing/wait-for.js";
import { DealerSocket, PubSocket, RouterSocket, SubSocket } from "../src/zmq/index.js";

const within = { timeoutMs: 5_000, intervalMs: 10 };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function startPub(options = {}) {
  const pub = await PubSocket.bind("tcp://127.0.0.1:0", options);
  closers.push(() => pub.close());
  return pub;
}

function startSub(port: number, prefix: string) {
  const sub = new SubSocket(`tcp://127.0.0.1:${port}`, { reconnectMinMs: 20 });
  sub.subscribe(prefix);
  closers.push(() => sub.close());
  return sub;
}

describe("PUB/SUB over real sockets", () => {
  it("delivers multipart messages to subscribers whose prefix matches the topic", async () => {
    const pub = await startPub();
    const kv = startSub(pub.port, "kv@");
    const other = startSub(pub.port, "metrics");
    await waitFor(() => pub.subscriberCount === 2, within);
    pub.send([Buffer.from("kv@a@model"), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), Buffer.alloc(300, 9)]);
    pub.send([Buffer.from("metrics"), Buffer.from("x")]);
    const first = await kv.receive();
    expect(first.value?.map((frame: Buffer) => frame.length)).toEqual([10, 8, 300]);
    expect((await other.receive()).value?.[0]?.toString()).toBe("metrics");
  });

  it("stops delivering after unsubscribe", async () => {
    const pub = await startPub();
    const sub = startSub(pub.port, "a");
    await waitFor(() => pub.subscriberCount === 1, within);
    sub.unsubscribe("a");
    await waitFor(() => pub.subscriberCount === 0, within);
    sub.subscribe("b");
    await waitFor(() => pub.subscriberCount === 1, within);
    pub.send([Buffer.from("a1")]);
    pub.send([Buffer.from("b1")]);
    expect((await sub.receive()).value?.[0]?.toString()).toBe("b1");
  });

  it("reconnects after the publisher restarts on the same port and resubscribes", async () => {
    const pub = await PubSocket.bind("tcp://127.0.0.1:0");
    const port = pub.port;
    const sub = startSub(port, "");
    await waitFor(() => pub.subscriberCount === 1, within);
    await pub.close();
    await waitFor(() => !sub.connected, within);
    const again = await PubSocket.bind(`tcp://127.0.0.1:${port}`);
    closers.push(() => again.close());
    await waitFor(() => again.subscriberCount === 1, within);
    again.send([Buffer.from("after")]);
    expect((await sub.receive()).value?.[0]?.toString()).toBe("after");
  });

  it("drops messages for a subscriber that stops reading, past the high-water mark", async () => {
    const pub = await startPub({ highWaterMark: 2 });
    // Sending 1 MiB messages without yielding to the event loop outruns the socket: everything
    // past the high-water mark must be dropped rather than queued in the publisher's memory.
    startSub(pub.port, "");
    await waitFor(() => pub.subscriberCount === 1, within);
    const big = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < 200 && pub.dropped === 0; index++) {
      pub.send([Buffer.from("t"), big]);
    }
    expect(pub.dropped).toBeGreaterThan(0);
  });

  it("closes sessions with peers that do not speak ZMTP", async () => {
    const pub = await startPub();
    const socket = connect({ host: "127.0.0.1", port: pub.port });
    socket.on("error", () => {});
    socket.resume();
    socket.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(64, " ")));
    await new Promise((resolve) => socket.once("close", resolve));
    expect(pub.subscriberCount).toBe(0);
  });
});

describe("ROUTER/DEALER", () => {
  it("routes replies back to the requesting peer by identity", async () => {
    const router = await RouterSocket.bind("tcp://127.0.0.1:0");
    closers.push(() => router.close());
    const dealer = new DealerSocket(`tcp://127.0.0.1:${router.port}`);
    closers.push(() => dealer.close());
    dealer.send([Buffer.alloc(0), Buffer.from("ping")]);
    const request = (await router.receive()).value as Buffer[];
    expect(request.slice(1).map(String)).toEqual(["", "ping"]);
    router.send([request[0] as Buffer, Buffer.alloc(0), Buffer.from("pong")]);
    expect(((await dealer.receive()).value as Buffer[]).map(String)).toEqual(["", "pong"]);
  });
});
