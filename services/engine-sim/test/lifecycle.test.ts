import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startEngineSim } from "../src/index.js";
import { json, metricValue, post, waitFor } from "./helpers.js";

const within = { timeoutMs: 5_000, intervalMs: 10 };

describe("scripted mode", () => {
  it("answers from a YAML script, first match wins, on the last user message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engine-sim-"));
    const script = join(dir, "script.yaml");
    await writeFile(
      script,
      [
        "rules:",
        "  - match: '/refund/i'",
        "    reply: Refunds take 5 days.",
        "  - match: hello",
        "    reply: Hi there!",
        "",
      ].join("\n"),
    );
    const sim = await startEngineSim({ port: 0, timeScale: 0, logLevel: "silent", script });
    try {
      const ask = async (messages: Array<{ role: string; content: string }>) =>
        (await json(await post(`${sim.url}/v1/chat/completions`, { messages }))).choices[0].message.content;
      expect(await ask([{ role: "user", content: "hello, I want a REFUND" }])).toBe("Refunds take 5 days.");
      expect(
        await ask([
          { role: "user", content: "refund" },
          { role: "assistant", content: "ok" },
          { role: "user", content: "hello" },
        ]),
      ).toBe("Hi there!");
      const completion = await json(await post(`${sim.url}/v1/completions`, { prompt: "say hello" }));
      expect(completion.choices[0].text).toBe("Hi there!");
      expect(completion.usage.completion_tokens).toBe(sim.tokenizer.count("Hi there!"));
    } finally {
      await sim.close();
    }
  });

  it("fails start-up on an invalid script file, naming it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "engine-sim-"));
    const script = join(dir, "bad.json");
    await writeFile(script, JSON.stringify([{ match: "x" }]));
    await expect(startEngineSim({ port: 0, logLevel: "silent", script })).rejects.toThrow(/bad\.json/);
  });
});

describe("client disconnect and shutdown", () => {
  it("aborts the sequence and frees its KV blocks when the client goes away mid-stream", async () => {
    const sim = await startEngineSim({
      port: 0,
      logLevel: "silent",
      decodeMsPerToken: 20,
      prefillMsPerToken: 0,
    });
    try {
      const controller = new AbortController();
      const response = await post(
        `${sim.url}/v1/chat/completions`,
        {
          messages: [{ role: "user", content: "talk for a long time ".repeat(20) }],
          max_tokens: 500,
          ignore_eos: true,
          stream: true,
        },
        { signal: controller.signal },
      );
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      expect(sim.model.snapshot().running).toBe(1);
      expect(sim.model.snapshot().usedBlocks).toBeGreaterThan(0);
      controller.abort();
      await waitFor(() => sim.model.snapshot().running === 0, within);
      expect(sim.model.snapshot().usedBlocks).toBe(0);
      const metrics = await (await fetch(`${sim.url}/metrics`)).text();
      expect(metricValue(metrics, "strata_engine_sim_aborted_requests_total")).toBe(1);
      expect(metricValue(metrics, "vllm:request_success_total", { finished_reason: "length" })).toBe(0);
    } finally {
      await sim.close();
    }
  });

  it("lets in-flight requests finish on close, then refuses connections", async () => {
    const sim = await startEngineSim({
      port: 0,
      logLevel: "silent",
      decodeMsPerToken: 5,
      shutdownGraceMs: 5000,
    });
    const pending = post(`${sim.url}/v1/completions`, { prompt: "hi", max_tokens: 10, ignore_eos: true });
    await waitFor(() => sim.model.snapshot().running === 1, within);
    const closed = sim.close();
    const response = await pending;
    expect(response.status).toBe(200);
    expect((await json(response)).usage.completion_tokens).toBe(10);
    await closed;
    await expect(fetch(`${sim.url}/health`)).rejects.toThrow();
  });
});
