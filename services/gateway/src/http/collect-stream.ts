import type { Readable } from "node:stream";

/**
 * Reads a whole stream into one Buffer, failing with `tooLarge()` (and destroying the stream) once it
 * passes `limit` bytes. Listeners instead of `for await`: an async iterator costs a promise and an
 * allocation per chunk, on every request and every upstream answer.
 *
 * A single chunk is returned as it came unless `copy` is set, for answers that may outlive the request
 * (a cache entry): a chunk can be a view into a larger read buffer, and Buffer.concat would put a
 * small answer into Node's shared 8 KiB pool, where a kept answer pins the whole slab. A copy made
 * for keeping gets an allocation of its own, exactly its size.
 */
export function collectStream(
  stream: Readable,
  limit: number,
  tooLarge: () => Error,
  copy = false,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (stream.errored) reject(stream.errored);
    else if (stream.readableEnded) resolve(Buffer.alloc(0));
    else if (stream.destroyed) reject(prematureClose());
    else new Collector(stream, limit, tooLarge, copy, resolve, reject).listen();
  });
}

/**
 * One collection in progress. Its listeners are bound methods rather than closures: this runs twice
 * per request, and under tsx every closure created also gets its name defined at run time.
 */
class Collector {
  private first: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  private readonly onData = this.data.bind(this);
  private readonly onEnd = this.end.bind(this);
  private readonly onError = this.error.bind(this);
  private readonly onClose = this.close.bind(this);

  constructor(
    private readonly stream: Readable,
    private readonly limit: number,
    private readonly tooLarge: () => Error,
    private readonly copy: boolean,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  listen(): void {
    this.stream.on("data", this.onData).once("end", this.onEnd).once("error", this.onError);
    this.stream.once("close", this.onClose);
  }

  private data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.finish(this.tooLarge());
      this.stream.destroy();
      return;
    }
    if (this.first === undefined) this.first = chunk;
    else if (this.chunks) this.chunks.push(chunk);
    else this.chunks = [this.first, chunk];
  }

  private end(): void {
    this.finish(undefined);
  }

  private error(error: Error): void {
    this.finish(error);
  }

  /** Closed before its end (the peer went away): what `for await` reports as a premature close. */
  private close(): void {
    this.finish(prematureClose());
  }

  private finish(error: Error | undefined): void {
    const { stream } = this;
    stream.off("data", this.onData).off("end", this.onEnd).off("error", this.onError);
    stream.off("close", this.onClose);
    if (error) this.reject(error);
    else if (this.copy) this.resolve(ownCopy(this.chunks ?? (this.first ? [this.first] : []), this.size));
    else if (!this.chunks) this.resolve(this.first ?? Buffer.alloc(0));
    else this.resolve(Buffer.concat(this.chunks, this.size));
  }
}

function ownCopy(chunks: Buffer[], size: number): Buffer {
  const copy = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(copy, offset);
  return copy;
}

function prematureClose(): Error {
  return Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
