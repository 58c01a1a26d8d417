/**
 * ZMTP 3.x wire format (rfc.zeromq.org 23/ZMTP, 37/ZMTP), the subset a NULL-mechanism TCP peer
 * needs: the 64-byte greeting, frames (MORE / LONG / COMMAND flags), and commands (READY with its
 * metadata properties, SUBSCRIBE / CANCEL of ZMTP 3.1, PING / PONG heartbeats).
 * Pure functions over Buffers so the framing is unit-testable without sockets.
 */

export const GREETING_LENGTH = 64;
/** Bytes of the greeting after which the peer's major version is known (signature + major). */
export const GREETING_VERSION_OFFSET = 10;

export const FLAG_MORE = 0x01;
export const FLAG_LONG = 0x02;
export const FLAG_COMMAND = 0x04;

export type SocketType = "PUB" | "SUB" | "XPUB" | "XSUB" | "DEALER" | "ROUTER" | "REQ" | "REP";

/**
 * Our greeting: signature 0xFF, 8 padding bytes, 0x7F; version 3.1; mechanism "NULL" padded to
 * 20 bytes; as-server 0 (NULL has no server role); 31 bytes filler. We advertise 3.1 but accept
 * 3.0 peers: the two differ only in how SUB announces subscriptions, and we read both forms.
 */
export function encodeGreeting(): Buffer {
  const greeting = Buffer.alloc(GREETING_LENGTH);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 1;
  greeting.write("NULL", 12, "ascii");
  return greeting;
}

export interface PeerGreeting {
  major: number;
  minor: number;
  mechanism: string;
  asServer: boolean;
}

export function parseGreeting(greeting: Buffer): PeerGreeting {
  if (greeting.length < GREETING_LENGTH) throw new Error("short ZMTP greeting");
  if (greeting[0] !== 0xff || greeting[9] !== 0x7f) throw new Error("not a ZMTP peer (bad signature)");
  const major = greeting[10] as number;
  const minor = greeting[11] as number;
  if (major < 3) throw new Error(`ZMTP ${major}.${minor} peer not supported (need 3.x)`);
  const mechanism = greeting.subarray(12, 32).toString("ascii").replace(/\0+$/, "");
  return { major, minor, mechanism, asServer: greeting[32] === 1 };
}

/** One frame: short form when the body fits in 255 bytes, long form (8-byte size) otherwise. */
export function encodeFrame(body: Buffer, flags: number): Buffer {
  if (body.length <= 255) {
    const header = Buffer.allocUnsafe(2);
    header[0] = flags & ~FLAG_LONG;
    header[1] = body.length;
    return Buffer.concat([header, body]);
  }
  const header = Buffer.allocUnsafe(9);
  header[0] = flags | FLAG_LONG;
  header.writeBigUInt64BE(BigInt(body.length), 1);
  return Buffer.concat([header, body]);
}

/** A multipart message: every frame but the last carries MORE. */
export function encodeMessage(frames: readonly Buffer[]): Buffer {
  if (frames.length === 0) throw new Error("a ZMTP message has at least one frame");
  return Buffer.concat(
    frames.map((frame, index) => encodeFrame(frame, index < frames.length - 1 ? FLAG_MORE : 0)),
  );
}

export function encodeCommand(name: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const nameBytes = Buffer.from(name, "ascii");
  return encodeFrame(Buffer.concat([Buffer.from([nameBytes.length]), nameBytes, data]), FLAG_COMMAND);
}

/** READY's metadata: name (1-byte length) and value (4-byte big-endian length) pairs. */
export function encodeProperties(properties: Readonly<Record<string, Buffer | string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const value = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
    const header = Buffer.allocUnsafe(1 + name.length + 4);
    header[0] = name.length;
    header.write(name, 1, "ascii");
    header.writeUInt32BE(value.length, 1 + name.length);
    parts.push(header, value);
  }
  return Buffer.concat(parts);
}

/** Property names are case-insensitive in ZMTP; keys come back lower-cased. */
export function parseProperties(data: Buffer): Map<string, Buffer> {
  const properties = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    const nameLength = data[offset] as number;
    const name = data.subarray(offset + 1, offset + 1 + nameLength).toString("ascii");
    offset += 1 + nameLength;
    if (offset + 4 > data.length) throw new Error("truncated ZMTP property");
    const valueLength = data.readUInt32BE(offset);
    offset += 4;
    if (offset + valueLength > data.length) throw new Error("truncated ZMTP property value");
    properties.set(name.toLowerCase(), data.subarray(offset, offset + valueLength));
    offset += valueLength;
  }
  return properties;
}

export interface Command {
  name: string;
  data: Buffer;
}

export function parseCommand(body: Buffer): Command {
  const nameLength = body[0];
  if (nameLength === undefined || body.length < 1 + nameLength) throw new Error("malformed ZMTP command");
  return {
    name: body.subarray(1, 1 + nameLength).toString("ascii"),
    data: body.subarray(1 + nameLength),
  };
}

export type DecodedUnit = { kind: "message"; frames: Buffer[] } | { kind: "command"; command: Command };

/**
 * Incremental decoder for the traffic after the greeting. Frames arrive split or coalesced across
 * TCP reads; it keeps the unread tail and the parts of an unfinished multipart message.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];

  /** Frames larger than this are a protocol error: it bounds memory a hostile peer can claim. */
  constructor(private readonly maxFrameBytes = 256 * 1024 * 1024) {}

  push(chunk: Buffer): DecodedUnit[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const units: DecodedUnit[] = [];
    let offset = 0;
    for (;;) {
      if (this.buffered.length - offset < 2) break;
      const flags = this.buffered[offset] as number;
      const long = (flags & FLAG_LONG) !== 0;
      const headerLength = long ? 9 : 2;
      if (this.buffered.length - offset < headerLength) break;
      const size = long
        ? Number(this.buffered.readBigUInt64BE(offset + 1))
        : (this.buffered[offset + 1] as number);
      if (size > this.maxFrameBytes) throw new Error(`ZMTP frame of ${size} bytes exceeds the limit`);
      if (this.buffered.length - offset < headerLength + size) break;
      // Copy out so a retained frame does not pin the whole read buffer.
      const body = Buffer.from(this.buffered.subarray(offset + headerLength, offset + headerLength + size));
      offset += headerLength + size;
      if ((flags & FLAG_COMMAND) !== 0) {
        units.push({ kind: "command", command: parseCommand(body) });
        continue;
      }
      this.parts.push(body);
      if ((flags & FLAG_MORE) === 0) {
        units.push({ kind: "message", frames: this.parts });
        this.parts = [];
      }
    }
    this.buffered = offset === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(offset);
    return units;
  }
}

/** Which peer socket types may talk to ours (23/ZMTP "socket semantics"). */
export const COMPATIBLE_PEERS: Readonly<Record<SocketType, readonly SocketType[]>> = {
  PUB: ["SUB", "XSUB"],
  XPUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
  XSUB: ["PUB", "XPUB"],
  DEALER: ["REP", "DEALER", "ROUTER"],
  ROUTER: ["REQ", "DEALER", "ROUTER"],
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
};
