/**
 * A minimal canonical CBOR encoder: the bytes Python's `cbor2.dumps(value, canonical=True)` writes
 * for the values vLLM's `sha256_cbor` block hash serialises — None, integers, byte strings, text
 * strings and tuples (CBOR arrays). Every head uses its shortest form (RFC 8949 §4.2.1), which is
 * all "canonical" changes for these types. Maps and floats never occur in a block key and are refused.
 *
 * The writer reuses one buffer, so hashing a block allocates nothing but the digest.
 */

export type CborValue = null | boolean | number | bigint | string | Uint8Array | readonly CborValue[];

const MAJOR_UNSIGNED = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const SIMPLE_FALSE = 0xf4;
const SIMPLE_TRUE = 0xf5;
const SIMPLE_NULL = 0xf6;
const maxUint64 = (1n << 64n) - 1n;

export class CborWriter {
  private buffer = Buffer.allocUnsafe(512);
  private length = 0;

  /** Starts a new encoding, forgetting the previous one. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** The bytes written since the last reset; a view valid until the next write. */
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  value(value: CborValue): this {
    if (value === null) return this.byte(SIMPLE_NULL);
    if (typeof value === "boolean") return this.byte(value ? SIMPLE_TRUE : SIMPLE_FALSE);
    if (typeof value === "number" || typeof value === "bigint") return this.integer(value);
    if (typeof value === "string") return this.text(value);
    if (value instanceof Uint8Array) return this.byteString(value);
    if (Array.isArray(value)) {
      this.arrayHeader(value.length);
      for (const item of value as readonly CborValue[]) this.value(item);
      return this;
    }
    throw new TypeError(`canonical CBOR: unsupported value ${String(value)}`);
  }

  arrayHeader(length: number): this {
    return this.head(MAJOR_ARRAY, length);
  }

  /** A non-negative integer below 2^53 (token ids): the hot path of block hashing. */
  unsigned(value: number): this {
    return this.head(MAJOR_UNSIGNED, value);
  }

  integer(value: number | bigint): this {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value))
        throw new RangeError(`canonical CBOR: ${value} is not a safe integer`);
      return value >= 0 ? this.head(MAJOR_UNSIGNED, value) : this.head(MAJOR_NEGATIVE, -1 - value);
    }
    const magnitude = value >= 0n ? value : -1n - value;
    // cbor2 writes larger integers as tagged bignums; no block key holds one.
    if (magnitude > maxUint64) throw new RangeError(`canonical CBOR: ${value} needs a bignum`);
    return this.bigHead(value >= 0n ? MAJOR_UNSIGNED : MAJOR_NEGATIVE, magnitude);
  }

  byteString(bytes: Uint8Array): this {
    this.head(MAJOR_BYTES, bytes.length);
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  text(text: string): this {
    const size = Buffer.byteLength(text, "utf8");
    this.head(MAJOR_TEXT, size);
    this.ensure(size);
    this.length += this.buffer.write(text, this.length, "utf8");
    return this;
  }

  private head(major: number, value: number): this {
    const type = major << 5;
    this.ensure(9);
    const buffer = this.buffer;
    if (value < 24) {
      buffer[this.length++] = type | value;
    } else if (value < 0x100) {
      buffer[this.length++] = type | 24;
      buffer[this.length++] = value;
    } else if (value < 0x10000) {
      buffer[this.length++] = type | 25;
      buffer.writeUInt16BE(value, this.length);
      this.length += 2;
    } else if (value < 0x100000000) {
      buffer[this.length++] = type | 26;
      buffer.writeUInt32BE(value, this.length);
      this.length += 4;
    } else {
      return this.bigHead(major, BigInt(value));
    }
    return this;
  }

  private bigHead(major: number, value: bigint): this {
    if (value < 0x100000000n) return this.head(major, Number(value));
    this.ensure(9);
    this.buffer[this.length++] = (major << 5) | 27;
    this.buffer.writeBigUInt64BE(value, this.length);
    this.length += 8;
    return this;
  }

  private byte(value: number): this {
    this.ensure(1);
    this.buffer[this.length++] = value;
    return this;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** The canonical CBOR encoding of one value (a fresh copy). */
export function encodeCanonicalCbor(value: CborValue): Buffer {
  return Buffer.from(new CborWriter().value(value).bytes);
}
