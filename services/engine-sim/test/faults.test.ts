import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineSim, startEngineSim } from "../src/index.js";
import { json, post } from "./helpers.js";

let vllm: EngineSim;
let tgi: EngineSim;

beforeAll(async () => {
  [vllm, tgi] = await Promise.all([
    startEngineSim({
      port: 0,
      model: "m",
      timeScale: 0,
      logLevel: "silent",
      faults: [{ match: "scripted", status: 500, times: 2 }],
    }),
    startEngineSim({ port: 0, model: "m", api: "tgi", timeScale: 0, logLevel: "silent" }),
  ]);
});
afterAll(() => Promise.all([vllm.close(), tgi.close()]));

const chat = (content: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  post(
    `${vllm.url}/v1/chat/completions`,
    { model: "m", messages: [{ role: "user", content }], max_tokens: 20, ...extra },
    { headers: { "content-type": "application/json", ...headers } },
  );

describe("fault injection", () => {
  it("applies scripted faults to matching requests, the given number of times", async () => {
    const first = await chat("scripted failure");
    expect(first.status).toBe(500);
    expect(await json(first)).toEqual({
      error: { message: "injected fault: HTTP 500", type: "InternalServerError", param: null, code: 500 },
    });
    expect((await chat("scripted failure")).status).toBe(500);
    expect((await chat("scripted failure")).status).toBe(200);
    expect((await chat("unrelated")).status).toBe(200);
  });

  it("sends Retry-After with a 429 chosen by header", async () => {
    const response = await chat("x", {}, { "x-sim-fault": "status=429; retry-after=3" });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("3");
  });

  it("hangs before answering, and lets the client give up", async () => {
    const started = Date.now();
    const answered = await chat("x", {}, { "x-sim-fault": "hang=300" });
    expect(answered.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    const gaveUp = await post(
      `${vllm.url}/v1/chat/completions`,
      { model: "m", messages: [{ role: "user", content: "x" }] },
      {
        headers: { "content-type": "application/json", "x-sim-fault": "hang=60000" },
        signal: AbortSignal.timeout(200),
      },
    ).catch((error: Error) => error.name);
    expect(gaveUp).toBe("TimeoutError");
    expect((await chat("still serving")).status).toBe(200);
  });

  it("drops the connection mid-stream after k events", async () => {
    vllm.faults.set([{ match: "drop", dropAfterChunks: 2 }]);
    const response = await chat("drop me", { stream: true });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = "";
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        text += new TextDecoder().decode(value);
      }
    })().catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(text.split("\n\n").filter(Boolean)).toHaveLength(2);
    vllm.faults.clear();
  });

  it("drops a plain answer's connection at once, and speaks TGI's error shape on TGI", async () => {
    const dropped = await chat("x", {}, { "x-sim-fault": "drop-after=0" }).catch((error: Error) => error);
    expect(dropped).toBeInstanceOf(Error);
    tgi.faults.set([{ status: 503 }]);
    const response = await post(`${tgi.url}/generate`, { inputs: "hi", parameters: { max_new_tokens: 3 } });
    expect(response.status).toBe(503);
    expect(await json(response)).toEqual({ error: "injected fault: HTTP 503", error_type: "generation" });
    tgi.faults.clear();
    expect(tgi.faults.applied).toBe(1);
  });
});
