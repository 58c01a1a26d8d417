import { describe, expect, it } from "vitest";
import { exactKey, semanticQuery } from "../../src/cache/cache-keys.js";
import { canonicalRequest } from "../../src/cache/canonical-request.js";
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  validateRequest,
} from "../../src/openai/request-schemas.js";

const chat = (body: unknown) => validateRequest("chat.completions", body) as ChatCompletionRequest;
const key = (body: unknown, tenant = "ten_a") =>
  exactKey(tenant, canonicalRequest("chat.completions", chat(body)));
const base = {
  model: "m",
  temperature: 0,
  max_tokens: 20,
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is HNSW?" },
  ],
};

describe("exact cache keys", () => {
  it("are the keys earlier versions stored, so Redis entries outlive an upgrade", () => {
    // SHA-256 of "operation\nmodel\nparams" then "\n" and each turn, as the key was always made.
    expect(key(base)).toBe("ten_a:Eyg47bb68jJ9bf8-PHrjFosSNgtFO5p69ySD72LfoDo");
    const bucket = (body: unknown) =>
      semanticQuery(chat(body), canonicalRequest("chat.completions", chat(body)), "local:e:256")!.bucket;
    expect(bucket(base)).toBe("svJf9TD-_VY7i1xe1BAmo36OcG4tx7N9Y7108fzM2vA");
    // No turn before the last: the bucket hashes the head alone.
    expect(bucket({ model: "m", messages: [{ role: "user", content: "hi" }] })).toBe(
      "UfWNsdW7heoP7lKXhFTL4IidrekQauzKQRhxhmAKybc",
    );
  });

  it("ignore field order at every level and the body's JSON formatting", () => {
    const reordered = JSON.parse(
      `{ "messages": [ {"content":"Be brief.","role":"system"},
        {"content": "What is HNSW?", "role": "user"} ],
        "max_tokens": 20,   "temperature": 0, "model": "m" }`,
    );
    expect(key(reordered)).toBe(key(base));
    const tools = (order: "ab" | "ba") => ({
      ...base,
      tools: [
        {
          type: "function",
          function:
            order === "ab"
              ? { name: "f", parameters: { a: 1, b: 2 } }
              : { parameters: { b: 2, a: 1 }, name: "f" },
        },
      ],
    });
    expect(key(tools("ab"))).toBe(key(tools("ba")));
  });

  it("change with anything that changes the answer", () => {
    const original = key(base);
    expect(key({ ...base, temperature: 0.7 })).not.toBe(original);
    expect(key({ ...base, max_tokens: 21 })).not.toBe(original);
    expect(key({ ...base, seed: 7 })).not.toBe(original);
    expect(key({ ...base, top_k: 5 })).not.toBe(original); // engine extensions count too
    expect(key({ ...base, model: "other" })).not.toBe(original);
    expect(
      key({ ...base, messages: [...base.messages.slice(0, 1), { role: "user", content: "What is HNSW? " }] }),
    ).not.toBe(original);
    expect(key({ ...base, messages: base.messages.slice(1) })).not.toBe(original);
  });

  it("stay the same for delivery-only fields and equivalent spellings", () => {
    const original = key(base);
    expect(key({ ...base, stream: true, stream_options: { include_usage: true } })).toBe(original);
    expect(key({ ...base, user: "alice" })).toBe(original);
    expect(key({ ...base, n: 1, top_p: null })).toBe(original);
    expect(key({ ...base, stop: "END" })).toBe(key({ ...base, stop: ["END"] }));
    const { max_tokens: _, ...withoutMax } = base;
    expect(key({ ...withoutMax, max_completion_tokens: 20 })).toBe(original);
  });

  it("are scoped by tenant", () => {
    expect(key(base, "ten_a")).not.toBe(key(base, "ten_b"));
    expect(key(base, "ten_a").startsWith("ten_a:")).toBe(true);
  });

  it("separate chat from text completions with the same fields", () => {
    const text = validateRequest("completions", {
      model: "m",
      prompt: "hi",
      temperature: 0,
    }) as CompletionRequest;
    const asChat = chat({ model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0 });
    expect(exactKey("t", canonicalRequest("completions", text))).not.toBe(
      exactKey("t", canonicalRequest("chat.completions", asChat)),
    );
  });
});

describe("semantic queries", () => {
  const query = (body: unknown, embedder = "local:e:384") => {
    const request = chat(body);
    return semanticQuery(request, canonicalRequest("chat.completions", request), embedder);
  };

  it("embed the last user turn and bucket by everything before it", () => {
    const first = query(base)!;
    expect(first.text).toBe("What is HNSW?");
    const paraphrase = query({
      ...base,
      messages: [base.messages[0], { role: "user", content: "what's hnsw" }],
    })!;
    expect(paraphrase.bucket).toBe(first.bucket);
    const otherSystem = query({
      ...base,
      messages: [{ role: "system", content: "Be verbose." }, base.messages[1]],
    })!;
    expect(otherSystem.bucket).not.toBe(first.bucket);
    expect(query({ ...base, temperature: 0.5 })!.bucket).not.toBe(first.bucket);
    expect(query(base, "local:e:512")!.bucket).not.toBe(first.bucket);
  });

  it("joins text parts and refuses turns that are not plain user text", () => {
    const parts = query({
      ...base,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
      ],
    });
    expect(parts?.text).toBe("a\nb");
    expect(
      query({
        ...base,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }],
      }),
    ).toBeUndefined();
    expect(
      query({ ...base, messages: [...base.messages, { role: "assistant", content: "Hi" }] }),
    ).toBeUndefined();
    expect(query({ ...base, messages: [{ role: "user", content: "   " }] })).toBeUndefined();
  });
});
