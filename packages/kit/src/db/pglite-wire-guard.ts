import type { PGlite } from "@electric-sql/pglite";

const READY_FOR_QUERY = 0x5a; // 'Z': the backend finished a request cycle
const TERMINATE = 0x58; // 'X': the client leaves; no reply follows

/**
 * Makes PGLiteSocketServer safe for several connections.
 *
 * The server (0.2.17) queues work per wire-protocol *message* and keeps one client's messages
 * together only while PGlite reports an explicit transaction. pg sends every parameterised query
 * as Parse/Bind/Describe/Execute/Sync, and PGlite has one backend, so another connection's Parse
 * can land between them and replace the unnamed statement: measured with pg.Pool and 2,000 mixed
 * queries, pools of 3+ connections failed hundreds of them ("bind message supplies 2 parameters,
 * but prepared statement "" requires 1", "portal "" does not exist") and 8+ sometimes hung.
 *
 * The fix keeps a connection's messages together for a whole request cycle — until the backend
 * sends ReadyForQuery — by reporting "in transaction" to the server's queue meanwhile. The queue
 * then serves only that connection until the cycle ends (it already does this for BEGIN..COMMIT).
 */
export function guardWireProtocol(db: PGlite): PGlite {
  let midCycle = false;
  return new Proxy(db, {
    get(target, property) {
      if (property === "isInTransaction") return () => midCycle || target.isInTransaction();
      if (property === "execProtocolRawStream") {
        return async (message: Uint8Array, options: Parameters<PGlite["execProtocolRawStream"]>[1]) => {
          const tracker = new LastBackendMessage();
          const result = await target.execProtocolRawStream(message, {
            ...options,
            onRawData: (data: Uint8Array) => {
              tracker.push(data);
              options.onRawData(data);
            },
          });
          midCycle = tracker.type !== READY_FOR_QUERY && message[0] !== TERMINATE;
          return result;
        };
      }
      if (property === "exec") {
        // The server calls exec('ROLLBACK') only to clean up after a client that left mid-cycle.
        return (...args: Parameters<PGlite["exec"]>) => {
          midCycle = false;
          return target.exec(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Follows backend messages (type byte + int32 length) across chunks and remembers the last type. */
class LastBackendMessage {
  type = -1;
  readonly #header = new Uint8Array(5);
  #headerLength = 0;
  #bodyLeft = 0;

  push(data: Uint8Array): void {
    let index = 0;
    while (index < data.length) {
      if (this.#bodyLeft > 0) {
        const skipped = Math.min(this.#bodyLeft, data.length - index);
        this.#bodyLeft -= skipped;
        index += skipped;
        continue;
      }
      this.#header[this.#headerLength++] = data[index++]!;
      if (this.#headerLength === 5) {
        this.type = this.#header[0]!;
        const view = new DataView(this.#header.buffer);
        this.#bodyLeft = view.getInt32(1) - 4; // the length counts itself
        this.#headerLength = 0;
      }
    }
  }
}
