import { describe, expect, it } from "vitest";
import { sseData } from "../src/upstream/sse.js";

async function collect(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(
    (async function* () {
      yield* chunks.map((chunk) => Buffer.from(chunk));
    })(),
  ))
    out.push(data);
  return out;
}

describe("sseData", () => {
  it("yields data payloads of complete events, across chunk boundaries", async () => {
    expect(await collect(['data: {"a":1}\n\nda', 'ta: {"b":2}\n', "\n", "data: [DONE]\n\n"])).toEqual([
      '{"a":1}',
      '{"b":2}',
      "[DONE]",
    ]);
  });

  it("skips comments, other fields, and handles CRLF and no space after the colon", async () => {
    expect(await collect([": ping\n\n", 'event: x\r\ndata:{"c":3}\r\n\n'])).toEqual(['{"c":3}']);
  });

  it("joins multi-line data and flushes a final event without a blank line", async () => {
    expect(await collect(["data: a\ndata: b\n\ndata: tail"])).toEqual(["a\nb", "tail"]);
  });
});
