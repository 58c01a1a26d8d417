import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { Stream } from "openai/streaming";
import { describe, expect, it } from "vitest";
import { assembleAnswer } from "../../src/cache/answer-assembler.js";
import { replayEvents, textPieces } from "../../src/cache/sse-replay.js";
import type { StoredAnswer } from "../../src/cache/stored-answer.js";

const chatAnswer = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "sim-model",
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: "HNSW is a graph index.\nIt searches in layers.  ",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "lookup", arguments: '{"term":"hierarchical navigable small world graphs"}' },
          },
        ],
      },
      logprobs: null,
      finish_reason: "tool_calls",
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
};

const stored = (body: unknown, operation: StoredAnswer["operation"] = "chat.completions"): StoredAnswer => ({
  operation,
  body: Buffer.from(JSON.stringify(body)),
  servedModel: "sim-model",
  promptTokens: 12,
  completionTokens: 30,
  storedAt: 0,
});

/** The replayed payloads as the HTTP face frames them, parsed by the openai SDK's own SSE reader. */
async function sdkChunks(events: string[]): Promise<unknown[]> {
  const text = events.map((data) => `data: ${data}\n\n`).join("");
  const response = new Response(text, { headers: { "content-type": "text/event-stream" } });
  const chunks: unknown[] = [];
  for await (const chunk of Stream.fromSSEResponse(response, new AbortController())) chunks.push(chunk);
  return chunks;
}

/** The SDK's strict accumulator (what `client.chat.completions.stream(...).finalChatCompletion()` uses). */
async function sdkFinal(chunks: unknown[]) {
  const lines = `${chunks.map((chunk) => JSON.stringify(chunk)).join("\n")}\n`;
  const readable = new Response(lines).body!;
  return ChatCompletionStream.fromReadableStream(readable).finalChatCompletion();
}

describe("replaying a cached answer as a stream", () => {
  it("is SSE the openai SDK parses back into the same message, tool calls included", async () => {
    const events = replayEvents(stored(chatAnswer), true)!;
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = await sdkChunks(events);
    expect(chunks).toHaveLength(events.length - 1); // [DONE] ends the stream, it is not a chunk
    const final = await sdkFinal(chunks);
    expect(final.choices[0]!.message.content).toBe(chatAnswer.choices[0]!.message.content);
    expect(final.choices[0]!.message.tool_calls).toEqual(chatAnswer.choices[0]!.message.tool_calls);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.id).toBe("chatcmpl-1");
    expect(final.model).toBe("sim-model");
  });

  it("chunks content a few words at a time, with the usage chunk only when it was asked for", async () => {
    const withUsage = replayEvents(stored(chatAnswer), true)!;
    const without = replayEvents(stored(chatAnswer), false)!;
    const last = JSON.parse(withUsage.at(-2)!);
    expect(last).toMatchObject({ choices: [], usage: chatAnswer.usage });
    expect(without.some((event) => event.includes('"usage"'))).toBe(false);
    expect(withUsage.length).toBe(without.length + 1);
    const contentChunks = without.filter(
      (event) => event.includes('"content":"') && !event.includes('"role"'),
    );
    expect(contentChunks.length).toBeGreaterThan(5);
    const first = JSON.parse(without[0]!);
    expect(first).toMatchObject({
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
  });

  it("round-trips through the stream assembler to the same answer", () => {
    const events = replayEvents(stored(chatAnswer), true)!;
    const assembled = assembleAnswer("chat.completions", events)!;
    expect(JSON.parse(assembled.body.toString())).toEqual(chatAnswer);
    expect(assembled.servedModel).toBe("sim-model");
  });

  it("replays text completions, several choices each with its own finish_reason", async () => {
    const text = {
      id: "cmpl-1",
      object: "text_completion",
      created: 1,
      model: "sim-model",
      choices: [
        { index: 0, text: "one two three", logprobs: null, finish_reason: "length" },
        { index: 1, text: "", logprobs: null, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
    };
    const events = replayEvents(stored(text, "completions"), false)!;
    const chunks = (await sdkChunks(events)) as { object: string; choices: { index: number }[] }[];
    expect(chunks.every((chunk) => chunk.object === "text_completion")).toBe(true);
    expect(JSON.parse(assembleAnswer("completions", events)!.body.toString())).toEqual({
      ...text,
      usage: undefined,
    });
  });
});

describe("assembling a streamed answer for the cache", () => {
  const engineChunks = [
    {
      id: "c",
      object: "chat.completion.chunk",
      created: 5,
      model: "m",
      choices: [{ index: 0, delta: { role: "assistant" } }],
    },
    {
      id: "c",
      object: "chat.completion.chunk",
      created: 5,
      model: "m",
      choices: [{ index: 0, delta: { content: "Hel" } }],
    },
    {
      id: "c",
      object: "chat.completion.chunk",
      created: 5,
      model: "m",
      choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "stop" }],
    },
    {
      id: "c",
      object: "chat.completion.chunk",
      created: 5,
      model: "m",
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    },
  ].map((chunk) => JSON.stringify(chunk));

  it("rebuilds the non-streamed answer", () => {
    const assembled = assembleAnswer("chat.completions", [...engineChunks, "[DONE]"])!;
    expect(JSON.parse(assembled.body.toString())).toEqual({
      id: "c",
      object: "chat.completion",
      created: 5,
      model: "m",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello" }, logprobs: null, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    });
  });

  it("refuses streams that did not end whole", () => {
    expect(assembleAnswer("chat.completions", engineChunks)).toBeUndefined(); // no [DONE]
    expect(
      assembleAnswer("chat.completions", [engineChunks[0]!, engineChunks[1]!, "[DONE]"]),
    ).toBeUndefined();
    expect(
      assembleAnswer("chat.completions", [
        ...engineChunks,
        JSON.stringify({ error: { message: "x" } }),
        "[DONE]",
      ]),
    ).toBeUndefined();
    expect(assembleAnswer("chat.completions", ["not json", "[DONE]"])).toBeUndefined();
  });
});

describe("text pieces", () => {
  it("join back to the text exactly and stay within the chunk budget", () => {
    for (const text of ["", "one", "  leading and trailing  ", "a\n\nb\tc ", "word ".repeat(5_000)]) {
      const pieces = textPieces(text);
      expect(pieces.join("")).toBe(text);
      expect(pieces.length).toBeLessThanOrEqual(256);
    }
  });
});
