import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { createLogger, StrataError } from "@strata/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LlmClassifier, ModelRouter, OpenAiLlmClassifier, parseAnswer } from "../src/models/index.js";

const labels = ["large", "small"];

/** A tiny OpenAI-style engine whose behaviour each test sets: delay, status and answer. */
class ScriptedEngine {
  delayMs = 0;
  status = 200;
  answer = "small";
  readonly bodies: Record<string, unknown>[] = [];
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of request) text += chunk;
    this.bodies.push(JSON.parse(text) as Record<string, unknown>);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (response.destroyed) return;
    const body = { choices: [{ index: 0, message: { role: "assistant", content: this.answer } }] };
    response.writeHead(this.status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }
}

describe("OpenAiLlmClassifier against engine-sim", () => {
  let engine: EngineSim;
  let classifier: OpenAiLlmClassifier;

  beforeAll(async () => {
    engine = await startEngineSim(
      {
        port: 0,
        host: "127.0.0.1",
        model: "router-classifier",
        timeScale: 0,
        logLevel: "silent",
        scriptRules: [
          { match: "/prove|implement/i", reply: "Large." },
          { match: "/.*/", reply: "small" },
        ],
      },
      { logger: createLogger({ service: "test", level: "silent" }) },
    );
    classifier = new OpenAiLlmClassifier({ url: engine.url, model: "router-classifier", timeoutMs: 2000 });
  });
  afterAll(async () => {
    await classifier.close();
    await engine.close();
  });

  it("asks with a constrained prompt and parses the one-word answer", async () => {
    expect(await classifier.classify("Prove Fermat's little theorem.", labels)).toBe("large");
    expect(await classifier.classify("hello there", labels)).toBe("small");
  });
});

describe("OpenAiLlmClassifier failures", () => {
  const engine = new ScriptedEngine();
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());

  const classifier = (timeoutMs = 1000) =>
    new OpenAiLlmClassifier({ url: engine.url, model: "tiny", timeoutMs, apiKey: "k" });

  it("sends greedy, short, one-word requests", async () => {
    engine.answer = "small";
    engine.delayMs = 0;
    engine.status = 200;
    await classifier().classify("hi", labels);
    expect(engine.bodies.at(-1)).toMatchObject({
      model: "tiny",
      temperature: 0,
      max_tokens: 4,
      stream: false,
    });
    const messages = engine.bodies.at(-1)!.messages as { role: string; content: string }[];
    expect(messages[0]!.content).toMatch(/Answer with one word: large or small\.$/);
    expect(messages[1]).toEqual({ role: "user", content: "hi" });
  });

  it("times out with a timeout error", async () => {
    engine.delayMs = 500;
    engine.status = 200;
    await expect(classifier(50).classify("hi", labels)).rejects.toMatchObject({ code: "timeout" });
  });

  it("rejects an HTTP error and an answer naming no label", async () => {
    engine.delayMs = 0;
    engine.status = 503;
    await expect(classifier().classify("hi", labels)).rejects.toMatchObject({
      code: "upstream_error",
      message: "LLM classifier answered HTTP 503",
    });
    engine.status = 200;
    engine.answer = "I think this needs a medium model";
    await expect(classifier().classify("hi", labels)).rejects.toMatchObject({ code: "upstream_error" });
  });

  it("reports a cancelled caller as client_closed, not as an LLM failure", async () => {
    engine.delayMs = 500;
    engine.status = 200;
    const controller = new AbortController();
    const pending = classifier().classify("hi", labels, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "client_closed" });
  });
});

describe("parseAnswer", () => {
  const body = (content: unknown) => JSON.stringify({ choices: [{ message: { content } }] });

  it("accepts the usual shapes of a one-word answer", () => {
    expect(parseAnswer(body("large"), labels)).toBe("large");
    expect(parseAnswer(body(" Small.\n"), labels)).toBe("small");
    expect(parseAnswer(body("The answer is: LARGE"), labels)).toBe("large");
  });

  it("rejects answers without a label and malformed bodies", () => {
    expect(parseAnswer(body("medium"), labels)).toBeUndefined();
    expect(parseAnswer(body("smaller"), labels)).toBeUndefined();
    expect(parseAnswer(body(null), labels)).toBeUndefined();
    expect(parseAnswer("{not json", labels)).toBeUndefined();
  });
});

describe("ModelRouter with an LLM classifier", () => {
  const served = new Set(["small-model", "large-model"]);
  const config = (llm: object) => ({
    tiers: { small: { model: "small-model" }, large: { model: "large-model" } },
    routes: {
      auto: {
        rules: [{ name: "vip", tenants: ["vip"], tier: "large" }],
        classifier: { threshold: 0.5, llm: { url: "http://127.0.0.1:9", model: "tiny", ...llm } },
        default: "small",
      },
    },
  });
  /** A fake LlmClassifier: the router's logic is under test here, not HTTP. */
  const fake = (answer: () => Promise<string>, calls: string[] = []): LlmClassifier => ({
    classify: (text) => {
      calls.push(text);
      return answer();
    },
    close: async () => {},
  });

  it("follows the LLM's label, asks it only the last user turn, and skips it when a rule matches", async () => {
    const calls: string[] = [];
    const models = ModelRouter.create(config({}), {
      isServed: (model) => served.has(model),
      createLlmClassifier: () => fake(async () => "large", calls),
    });
    expect(models.usesLlm).toBe(true);
    const resolved = await models.resolve({ model: "auto", prompt: "system: s\nuser: hello\n" });
    expect(resolved).toMatchObject({
      model: "large-model",
      tier: "large",
      reason: 'route "auto": llm classifier large → tier "large"',
    });
    expect(calls).toEqual(["hello\n"]);
    await models.resolve({ model: "auto", tenantId: "vip", prompt: "hello" });
    expect(calls).toHaveLength(1);
  });

  it("falls back to the in-process classifier when the LLM times out", async () => {
    const engine = await new ScriptedEngine().start();
    engine.delayMs = 1000;
    try {
      const models = ModelRouter.create(config({ url: engine.url, timeoutMs: 50 }), {
        isServed: (model) => served.has(model),
      });
      // The engine would answer after a second; a timeout reason shows resolve did not wait for it.
      const resolved = await models.resolve({
        model: "auto",
        prompt: "user: Prove that sqrt(2) is irrational.\n",
      });
      expect(resolved.tier).toBe("large");
      expect(resolved.reason).toMatch(
        /^route "auto": llm classifier failed \(timeout\); classifier large p=/,
      );
      // resolveSync never waits for the LLM.
      expect(models.resolveSync({ model: "auto", prompt: "hi" }).reason).toMatch(
        /^route "auto": classifier small/,
      );
      await models.close();
    } finally {
      await engine.stop();
    }
  });

  it("propagates the caller's cancellation instead of routing for nobody", async () => {
    const models = ModelRouter.create(config({}), {
      isServed: (model) => served.has(model),
      createLlmClassifier: () =>
        fake(async () => {
          throw new StrataError("client_closed", "request cancelled");
        }),
    });
    await expect(models.resolve({ model: "auto", prompt: "hi" })).rejects.toMatchObject({
      code: "client_closed",
    });
  });
});
