/**
 * Interop with libzmq through pyzmq: our PUB to a pyzmq SUB, a pyzmq PUB to our SUB, and our
 * DEALER against a pyzmq ROUTER speaking vLLM's replay protocol. Skipped, with the reason shown,
 * when python3 or pyzmq is missing (`pip install pyzmq`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { DealerSocket, PubSocket, SubSocket } from "../src/zmq/index.js";

const probe = spawnSync("python3", ["-c", "import zmq; print(zmq.zmq_version())"], { encoding: "utf8" });
const pyzmqMissing = probe.status !== 0 ? "python3 with pyzmq not available (pip install pyzmq)" : "";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** Runs a Python snippet; resolves with its stdout lines as they come. */
function python(source: string): { lines: AsyncIterator<string>; child: ChildProcess } {
  const child = spawn("python3", ["-u", "-c", source], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { lines, child };
}

async function line(lines: AsyncIterator<string>): Promise<string> {
  const next = await lines.next();
  if (next.done) throw new Error("python exited early");
  return next.value;
}

describe.skipIf(pyzmqMissing !== "")(`ZMTP interop with libzmq ${probe.stdout?.trim() ?? ""}`, () => {
  it("our PUB → pyzmq SUB with a topic prefix", async () => {
    const pub = await PubSocket.bind("tcp://127.0.0.1:0");
    try {
      const { lines } = python(`
import zmq
s = zmq.Context().socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"kv@")
s.connect("tcp://127.0.0.1:${pub.port}")
print("ready")
while True:
    frames = s.recv_multipart()
    print("|".join(f.hex() for f in frames))
    if frames[0] == b"kv@last":
        break
`);
      expect(await line(lines)).toBe("ready");
      // The SUB's subscription reaches us asynchronously; keep publishing until it lands.
      while (pub.subscriberCount === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      pub.send([Buffer.from("other"), Buffer.from("x")]);
      pub.send([Buffer.from("kv@a"), Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]), Buffer.alloc(400, 0xab)]);
      pub.send([Buffer.from("kv@last")]);
      const first = (await line(lines)).split("|");
      expect(first[0]).toBe(Buffer.from("kv@a").toString("hex"));
      expect(first[1]).toBe("0000000000000005");
      expect(first[2]).toBe("ab".repeat(400));
      expect(await line(lines)).toBe(Buffer.from("kv@last").toString("hex"));
    } finally {
      await pub.close();
    }
  });

  it("pyzmq PUB → our SUB", async () => {
    const { lines } = python(`
import zmq, time, sys
s = zmq.Context().socket(zmq.PUB)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port)
for i in range(400):
    s.send_multipart([b"kv@x", i.to_bytes(8, "big"), b"y" * 300])
    s.send_multipart([b"zz", b"ignored"])
    time.sleep(0.01)
`);
    const port = Number(await line(lines));
    const sub = new SubSocket(`tcp://127.0.0.1:${port}`, { reconnectMinMs: 20 });
    sub.subscribe("kv@");
    try {
      const message = (await sub.receive()).value as Buffer[];
      expect(message[0]?.toString()).toBe("kv@x");
      expect(message[2]?.length).toBe(300);
      const next = (await sub.receive()).value as Buffer[];
      expect(next[0]?.toString()).toBe("kv@x");
      expect(next[1]?.readBigUInt64BE(0)).toBe((message[1]?.readBigUInt64BE(0) ?? 0n) + 1n);
    } finally {
      sub.close();
    }
  });

  it("our DEALER ↔ pyzmq ROUTER in vLLM's replay protocol", async () => {
    const { lines } = python(`
import zmq
s = zmq.Context().socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port)
client, empty, start = s.recv_multipart()
start = int.from_bytes(start, "big")
for seq in range(start, start + 3):
    s.send_multipart([client, b"", seq.to_bytes(8, "big"), b"payload%d" % seq])
s.send_multipart([client, b"", (-1).to_bytes(8, "big", signed=True), b""])
print("done")
`);
    const port = Number(await line(lines));
    const dealer = new DealerSocket(`tcp://127.0.0.1:${port}`);
    try {
      const start = Buffer.alloc(8);
      start.writeBigUInt64BE(7n);
      dealer.send([Buffer.alloc(0), start]);
      const replies: string[] = [];
      for (;;) {
        const [empty, seq, payload] = (await dealer.receive()).value as Buffer[];
        expect(empty?.length).toBe(0);
        const value = seq?.readBigInt64BE(0) ?? -1n;
        if (value === -1n) break;
        replies.push(`${value}:${payload?.toString()}`);
      }
      expect(replies).toEqual(["7:payload7", "8:payload8", "9:payload9"]);
    } finally {
      dealer.close();
    }
  });
});

it.skipIf(pyzmqMissing === "")(`ZMTP interop skipped: ${pyzmqMissing}`, () => {});
