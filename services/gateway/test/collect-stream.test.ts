import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { collectStream } from "../src/http/collect-stream.js";

const tooLarge = () => new Error("too large");

describe("collectStream", () => {
  it("joins the chunks of a stream", async () => {
    const stream = Readable.from([Buffer.from("ab"), Buffer.from("cd"), Buffer.from("e")]);
    expect((await collectStream(stream, 100, tooLarge)).toString()).toBe("abcde");
    expect((await collectStream(Readable.from([]), 100, tooLarge)).length).toBe(0);
  });

  it("hands back a single chunk as it came, or a copy of its own when asked to", async () => {
    const chunk = Buffer.from("only");
    expect(await collectStream(Readable.from([chunk]), 100, tooLarge)).toBe(chunk);
    const copy = await collectStream(Readable.from([chunk]), 100, tooLarge, true);
    expect(copy).not.toBe(chunk);
    expect(copy.toString()).toBe("only");
    // Exactly its size, not a slice of Node's shared pool that a kept answer would pin.
    expect(copy.buffer.byteLength).toBe(4);
  });

  it("refuses a stream past the limit and stops reading it", async () => {
    const stream = new PassThrough();
    const collecting = collectStream(stream, 5, tooLarge);
    stream.write(Buffer.from("1234"));
    stream.write(Buffer.from("5678"));
    await expect(collecting).rejects.toThrow("too large");
    expect(stream.destroyed).toBe(true);
  });

  it("fails when the stream errors or closes before its end", async () => {
    const failing = new PassThrough();
    const collecting = collectStream(failing, 100, tooLarge);
    failing.destroy(new Error("connection reset"));
    await expect(collecting).rejects.toThrow("connection reset");

    const cut = new PassThrough();
    const cutShort = collectStream(cut, 100, tooLarge);
    cut.write("par");
    cut.destroy();
    await expect(cutShort).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });
});
