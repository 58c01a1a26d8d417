import { describe, expect, it } from "vitest";
import {
  encodeCommand,
  encodeFrame,
  encodeGreeting,
  encodeMessage,
  encodeProperties,
  FLAG_COMMAND,
  FLAG_LONG,
  FLAG_MORE,
  FrameDecoder,
  parseGreeting,
  parseProperties,
} from "../src/zmq/index.js";

describe("ZMTP framing", () => {
  it("writes the 64-byte NULL greeting libzmq expects", () => {
    const greeting = encodeGreeting();
    expect(greeting.length).toBe(64);
    expect(greeting[0]).toBe(0xff);
    expect(greeting[9]).toBe(0x7f);
    expect([greeting[10], greeting[11]]).toEqual([3, 1]);
    expect(greeting.subarray(12, 32).toString("ascii")).toBe(`NULL${"\0".repeat(16)}`);
    expect(parseGreeting(greeting)).toEqual({ major: 3, minor: 1, mechanism: "NULL", asServer: false });
  });

  it("rejects a peer that is not ZMTP 3", () => {
    const greeting = encodeGreeting();
    greeting[10] = 2;
    expect(() => parseGreeting(greeting)).toThrow(/need 3.x/);
    expect(() => parseGreeting(Buffer.alloc(64))).toThrow(/bad signature/);
  });

  it("uses the short form up to 255 bytes and the long form beyond", () => {
    const short = encodeFrame(Buffer.alloc(255, 7), FLAG_MORE);
    expect([short[0], short[1], short.length]).toEqual([FLAG_MORE, 255, 257]);
    const long = encodeFrame(Buffer.alloc(256, 7), 0);
    expect(long[0]).toBe(FLAG_LONG);
    expect(long.readBigUInt64BE(1)).toBe(256n);
    expect(long.length).toBe(9 + 256);
  });

  it("round-trips multipart messages and commands split at every byte", () => {
    const frames = [Buffer.from("kv@topic"), Buffer.alloc(8, 1), Buffer.alloc(1000, 2)];
    const wire = Buffer.concat([
      encodeCommand("READY", encodeProperties({ "Socket-Type": "PUB" })),
      encodeMessage(frames),
      encodeMessage([Buffer.alloc(0)]),
    ]);
    const decoder = new FrameDecoder();
    const units = [];
    for (let offset = 0; offset < wire.length; offset++)
      units.push(...decoder.push(wire.subarray(offset, offset + 1)));
    expect(units).toHaveLength(3);
    expect(units[0]).toMatchObject({ kind: "command", command: { name: "READY" } });
    const ready = units[0] as { kind: "command"; command: { data: Buffer } };
    expect(parseProperties(ready.command.data).get("socket-type")?.toString()).toBe("PUB");
    expect(units[1]).toEqual({ kind: "message", frames });
    expect(units[2]).toEqual({ kind: "message", frames: [Buffer.alloc(0)] });
  });

  it("marks commands with the COMMAND flag", () => {
    const command = encodeCommand("SUBSCRIBE", Buffer.from("kv@"));
    expect(command[0]).toBe(FLAG_COMMAND);
    expect(command.subarray(2).toString("latin1")).toBe("\x09SUBSCRIBEkv@");
  });

  it("refuses frames over the size limit and truncated properties", () => {
    expect(() => new FrameDecoder(10).push(encodeFrame(Buffer.alloc(11), 0))).toThrow(/exceeds/);
    expect(() => parseProperties(Buffer.from([3, 65, 66, 67, 0, 0]))).toThrow(/truncated/);
  });
});
