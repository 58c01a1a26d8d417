/**
 * Python's `pickle.dumps(value, protocol=5)` (CPython's C pickler, protocol 5 being
 * `pickle.HIGHEST_PROTOCOL` since Python 3.8) for the values vLLM's default `sha256` block hash
 * serialises: `(parent digest bytes, tuple of token ids, None | tuple of str)`.
 *
 * The pickle of such a value is fully determined by it: the PROTO header, one FRAME holding every
 * opcode, SHORT_BINBYTES/BINBYTES for bytes, BININT1/BININT2/BININT for ints, SHORT_BINUNICODE /
 * BINUNICODE for str, EMPTY_TUPLE / TUPLE1-3 / MARK…TUPLE for tuples, NONE, and a MEMOIZE after every
 * bytes, str and non-empty tuple. Two things would make it depend on more than the value, and both
 * are excluded: the same object appearing twice (pickled as a memo reference; a block key never
 * repeats an object) and pickles past 64 KiB (split into several frames; refused).
 * JavaScript arrays stand for tuples, Uint8Array for bytes, null for None.
 */

export type PickleValue = null | number | string | Uint8Array | readonly PickleValue[];

const PROTO = 0x80;
const FRAME = 0x95;
const STOP = 0x2e;
const MEMOIZE = 0x94;
const NONE = 0x4e;
const MARK = 0x28;
const TUPLE = 0x74;
const EMPTY_TUPLE = 0x29;
const TUPLE_BY_LENGTH = [EMPTY_TUPLE, 0x85, 0x86, 0x87] as const;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const BININT = 0x4a;
const SHORT_BINBYTES = 0x43;
const BINBYTES = 0x42;
const SHORT_BINUNICODE = 0x8c;
const BINUNICODE = 0x58;
/** Protocol header (2 bytes) + FRAME opcode and its 8-byte length. */
const HEADER = 11;
/** CPython frames hold at most ~64 KiB before starting another; a block key is far smaller. */
const FRAME_SIZE_TARGET = 64 * 1024;
/** CPython writes no FRAME for fewer than 4 bytes of opcodes. */
const FRAME_SIZE_MIN = 4;

export class PickleWriter {
  private buffer = Buffer.allocUnsafe(512);
  private length = HEADER;

  /** Encodes one value as a whole pickle; the view is valid until the next call. */
  dumps(value: PickleValue): Buffer {
    this.length = HEADER;
    this.save(value);
    this.ensure(1);
    this.buffer[this.length++] = STOP;
    const frameLength = this.length - HEADER;
    if (frameLength >= FRAME_SIZE_TARGET) {
      throw new RangeError(`pickle of ${frameLength} bytes would span several frames`);
    }
    const buffer = this.buffer;
    if (frameLength < FRAME_SIZE_MIN) {
      buffer[HEADER - 2] = PROTO;
      buffer[HEADER - 1] = 5;
      return buffer.subarray(HEADER - 2, this.length);
    }
    buffer[0] = PROTO;
    buffer[1] = 5;
    buffer[2] = FRAME;
    buffer.writeBigUInt64LE(BigInt(frameLength), 3);
    return buffer.subarray(0, this.length);
  }

  private save(value: PickleValue): void {
    if (value === null) {
      this.op(NONE);
      return;
    }
    if (typeof value === "number") {
      this.int(value);
      return;
    }
    if (typeof value === "string") {
      this.str(value);
      return;
    }
    if (value instanceof Uint8Array) {
      this.bytes(value);
      return;
    }
    if (Array.isArray(value)) {
      this.tuple(value as readonly PickleValue[]);
      return;
    }
    throw new TypeError(`pickle: unsupported value ${String(value)}`);
  }

  private tuple(items: readonly PickleValue[]): void {
    if (items.length === 0) {
      this.op(EMPTY_TUPLE);
      return;
    }
    if (items.length <= 3) {
      for (const item of items) this.save(item);
      this.op(TUPLE_BY_LENGTH[items.length] as number);
    } else {
      this.op(MARK);
      for (const item of items) this.save(item);
      this.op(TUPLE);
    }
    this.op(MEMOIZE);
  }

  private int(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      // LONG1 (arbitrary-size ints) is never needed for token ids.
      throw new RangeError(`pickle: ${value} is outside the signed 32-bit range`);
    }
    this.ensure(5);
    const buffer = this.buffer;
    if (value >= 0 && value < 0x100) {
      buffer[this.length++] = BININT1;
      buffer[this.length++] = value;
    } else if (value >= 0 && value < 0x10000) {
      buffer[this.length++] = BININT2;
      buffer.writeUInt16LE(value, this.length);
      this.length += 2;
    } else {
      buffer[this.length++] = BININT;
      buffer.writeInt32LE(value, this.length);
      this.length += 4;
    }
  }

  private bytes(bytes: Uint8Array): void {
    this.sizedHeader(SHORT_BINBYTES, BINBYTES, bytes.length);
    this.ensure(bytes.length + 1);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    this.buffer[this.length++] = MEMOIZE;
  }

  private str(text: string): void {
    const size = Buffer.byteLength(text, "utf8");
    this.sizedHeader(SHORT_BINUNICODE, BINUNICODE, size);
    this.ensure(size + 1);
    this.length += this.buffer.write(text, this.length, "utf8");
    this.buffer[this.length++] = MEMOIZE;
  }

  private sizedHeader(short: number, long: number, size: number): void {
    this.ensure(5);
    if (size < 0x100) {
      this.buffer[this.length++] = short;
      this.buffer[this.length++] = size;
    } else {
      this.buffer[this.length++] = long;
      this.buffer.writeUInt32LE(size, this.length);
      this.length += 4;
    }
  }

  private op(code: number): void {
    this.ensure(1);
    this.buffer[this.length++] = code;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** `pickle.dumps(value, protocol=5)` as a fresh copy. */
export function pickleDumps(value: PickleValue): Buffer {
  return Buffer.from(new PickleWriter().dumps(value));
}
