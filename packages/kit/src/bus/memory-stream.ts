import { matchSubject, subjectsOverlap } from "./subject.js";
import { BUS_DEFAULTS, type BusPayload, type StreamSpec } from "./types.js";

/** One message of a stream. Its bytes are encoded on first read when the publisher gave an encoder. */
export class StoredMessage {
  #bytes: Uint8Array | undefined;
  #encode: (() => Uint8Array) | undefined;

  constructor(
    readonly seq: number,
    readonly subject: string,
    payload: BusPayload,
    readonly headers: Record<string, string>,
    readonly storedAt: number,
    /** What the publisher encoded into `data`, handed to consumers as it is (PublishOptions.decoded). */
    readonly decoded?: unknown,
  ) {
    if (typeof payload === "function") this.#encode = payload;
    else this.#bytes = payload;
  }

  get data(): Uint8Array {
    if (this.#bytes === undefined) {
      this.#bytes = this.#encode!();
      this.#encode = undefined;
    }
    return this.#bytes;
  }
}

/** One in-process stream: ordered messages, msgId de-duplication, and JetStream-like limits. */
export class MemoryStream {
  spec: StreamSpec;
  readonly #messages = new Map<number, StoredMessage>(); // insertion order == sequence order
  readonly #recentMsgIds = new Map<string, number>(); // msgId -> stored at
  readonly #now: () => number;
  #lastSeq = 0;

  constructor(spec: StreamSpec, now: () => number) {
    this.spec = spec;
    this.#now = now;
  }

  captures(subject: string): boolean {
    return this.spec.subjects.some((pattern) => matchSubject(pattern, subject));
  }

  overlaps(subjects: readonly string[]): boolean {
    return this.spec.subjects.some((mine) => subjects.some((theirs) => subjectsOverlap(mine, theirs)));
  }

  /** Returns the stored message, or undefined when `msgId` was seen inside the duplicate window. */
  store(
    subject: string,
    data: BusPayload,
    headers: Record<string, string>,
    msgId?: string,
    decoded?: unknown,
  ) {
    const now = this.#now();
    this.#forgetOldMsgIds(now);
    if (msgId !== undefined) {
      if (this.#recentMsgIds.has(msgId)) return undefined;
      this.#recentMsgIds.set(msgId, now);
    }
    const message = new StoredMessage(++this.#lastSeq, subject, data, headers, now, decoded);
    this.#messages.set(message.seq, message);
    this.#enforceLimits(now);
    return message;
  }

  get(seq: number): StoredMessage | undefined {
    this.#enforceLimits(this.#now());
    return this.#messages.get(seq);
  }

  delete(seq: number): boolean {
    return this.#messages.delete(seq);
  }

  get size(): number {
    this.#enforceLimits(this.#now());
    return this.#messages.size;
  }

  /** First message after `seq` whose subject matches `filter` (any subject when omitted). */
  nextAfter(seq: number, filter?: string): StoredMessage | undefined {
    this.#enforceLimits(this.#now());
    // Sequences are consecutive, so look them up from the cursor on instead of walking the whole
    // stream: a consumer keeping up then costs O(1) however many messages the stream retains.
    const oldest = this.#messages.keys().next().value ?? this.#lastSeq + 1;
    for (let next = Math.max(seq + 1, oldest); next <= this.#lastSeq; next++) {
      const message = this.#messages.get(next);
      if (message && (filter === undefined || matchSubject(filter, message.subject))) return message;
    }
    return undefined;
  }

  #enforceLimits(now: number): void {
    const { maxMsgs, maxAgeMs } = this.spec;
    for (const message of this.#messages.values()) {
      const tooMany = maxMsgs !== undefined && maxMsgs > 0 && this.#messages.size > maxMsgs;
      const tooOld = maxAgeMs !== undefined && maxAgeMs > 0 && now - message.storedAt > maxAgeMs;
      if (!tooMany && !tooOld) break; // oldest first, so the rest are within limits too
      this.#messages.delete(message.seq);
    }
  }

  #forgetOldMsgIds(now: number): void {
    const windowMs = this.spec.duplicateWindowMs ?? BUS_DEFAULTS.duplicateWindowMs;
    for (const [msgId, storedAt] of this.#recentMsgIds) {
      if (now - storedAt <= windowMs) break;
      this.#recentMsgIds.delete(msgId);
    }
  }
}
