import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/local-stack.js";

async function errorOf(
  response: Response,
): Promise<{ status: number; error: { message: string; type: string; param: string | null; code: string } }> {
  const body = (await response.json()) as {
    error: { message: string; type: string; param: string | null; code: string };
  };
  return { status: response.status, error: body.error };
}

describe("bad input gets an OpenAI-style error with the right status", () => {
  let stack: TestStack;

  beforeAll(async () => {
    // A second model whose only replica is down: nothing listens on port 9 (discard).
    stack = await startTestStack({
      extraEndpoints: [{ id: "down-0", url: "http://127.0.0.1:9", model: "down-model" }],
    });
  });
  afterAll(() => stack.close());

  it("malformed JSON → 400", async () => {
    const { status, error } = await errorOf(
      await stack.post("/v1/chat/completions", '{"model": "strata-sim", "messages": ['),
    );
    expect(status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.message).toMatch(/could not parse the JSON body/);
  });

  it("schema violation → 400 naming the field", async () => {
    const { status, error } = await errorOf(
      await stack.post("/v1/chat/completions", {
        model: "strata-sim",
        messages: [{ role: "user", content: 42 }],
      }),
    );
    expect(status).toBe(400);
    expect(error.param).toBe("messages[0].content");
  });

  it("missing key → 401, wrong key → 401", async () => {
    const missing = await errorOf(await stack.post("/v1/chat/completions", {}, { authorization: "" }));
    expect(missing.status).toBe(401);
    expect(missing.error.code).toBe("invalid_api_key");
    const wrong = await errorOf(
      await stack.post("/v1/chat/completions", {}, { authorization: "Bearer sk-strata-nope-nope" }),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.error.message).not.toContain("sk-strata-nope-nope");
  });

  it("unknown model → 404", async () => {
    const { status, error } = await errorOf(
      await stack.post("/v1/chat/completions", {
        model: "no-such-model",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect(status).toBe(404);
    expect(error.code).toBe("model_not_found");
  });

  it("oversized body → 413", async () => {
    const huge = { model: "strata-sim", messages: [{ role: "user", content: "x".repeat(128 * 1024) }] };
    const { status, error } = await errorOf(await stack.post("/v1/chat/completions", huge));
    expect(status).toBe(413);
    expect(error.code).toBe("payload_too_large");
  });

  it("no healthy replica → 503", async () => {
    const { status, error } = await errorOf(
      await stack.post("/v1/chat/completions", {
        model: "down-model",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect(status).toBe(503);
    expect(error.code).toBe("no_healthy_upstream");
  });

  it("unknown path → 404, wrong method → 405, and the gateway keeps serving", async () => {
    expect((await errorOf(await stack.post("/v1/nothing", {}))).status).toBe(404);
    const wrongMethod = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect(wrongMethod.status).toBe(405);
    const ok = await stack.post("/v1/chat/completions", {
      model: "strata-sim",
      max_tokens: 2,
      messages: [{ role: "user", content: "still up?" }],
    });
    expect(ok.status).toBe(200);
  });
});
