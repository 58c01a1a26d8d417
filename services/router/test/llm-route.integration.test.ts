/**
 * Route's asynchronous path, over real gRPC: a virtual model whose route asks an LLM classifier
 * waits for a real OpenAI-style engine (engine-sim in scripted mode plays the classifier); a slow or
 * unreachable classifier falls back to the configured tier within its timeout and never fails the
 * request; every other model keeps the synchronous path, also on a shared RouteStream.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { createGrpcClient, Registry, type ServiceClient, silentLogger } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";
import { FakeEngine } from "./support/fake-engine.js";

const classifierRules = [
  { match: "/prove|implement|derive/i", reply: "Large." },
  { match: "/.*/", reply: "small" },
];

describe("Route with an LLM classifier", () => {
  const small = new FakeEngine("small-model");
  const large = new FakeEngine("large-model");
  let classifier: EngineSim;
  let slowClassifier: EngineSim;
  let router: RunningRouter;
  let client: ServiceClient<typeof routerV1.RouterService>;
  let sequence = 0;
  const nextId = () => `llm-${++sequence}`;
  const route = (model: string, prompt: string, requestId = nextId()) =>
    client.route({ requestId, model, prompt: `<s><|user|>\n${prompt}<|end|>\n<|assistant|>\n` });

  beforeAll(async () => {
    await Promise.all([small.start(), large.start()]);
    classifier = await startEngineSim({
      port: 0,
      host: "127.0.0.1",
      model: "router-classifier",
      timeScale: 0,
      logLevel: "silent",
      scriptRules: classifierRules,
    });
    // Answers correctly, but only after seconds: far past the classifier's timeout.
    slowClassifier = await startEngineSim({
      port: 0,
      host: "127.0.0.1",
      model: "router-classifier",
      prefillOverheadMs: 5_000,
      logLevel: "silent",
      scriptRules: classifierRules,
    });
    const llmRoute = (url: string, timeoutMs: number) => ({
      classifier: { llm: { url, model: "router-classifier", timeoutMs, fallbackTier: "large" } },
      default: "small",
    });
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: [
          { id: "small", url: small.url, model: "small-model" },
          { id: "large", url: large.url, model: "large-model" },
        ],
        models: {
          tiers: { small: { model: "small-model" }, large: { model: "large-model" } },
          routes: {
            auto: llmRoute(classifier.url, 5_000),
            "auto-slow": llmRoute(slowClassifier.url, 150),
            // Port 9 (discard) is closed on the test machine: connection refused at once.
            "auto-down": llmRoute("http://127.0.0.1:9", 1_000),
          },
        },
      },
      { logger: silentLogger(), registry: new Registry() },
    );
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
  });

  afterAll(async () => {
    client?.close();
    await router?.close();
    await Promise.all([classifier?.close(), slowClassifier?.close(), small.stop(), large.stop()]);
  });

  it("waits for the LLM's label on the unary Route", async () => {
    const hard = await route("auto", "Prove that there are infinitely many primes.");
    expect(hard.endpoint!.servedModel).toBe("large-model");
    expect(hard.modelReason).toBe('route "auto": llm classifier large → tier "large"');
    const easy = await route("auto", "hello there");
    expect(easy.endpoint!.servedModel).toBe("small-model");
    expect(easy.modelReason).toBe('route "auto": llm classifier small → tier "small"');
  });

  it("falls back to the configured tier when the classifier is slow or unreachable, without failing", async () => {
    // The slow classifier would answer "small" after seconds; a timeout reason shows nobody waited for it.
    const slow = await route("auto-slow", "hello there");
    expect(slow.endpoint!.servedModel).toBe("large-model");
    expect(slow.modelReason).toBe(
      'route "auto-slow": llm classifier failed (timeout) → fallback tier "large"',
    );
    const down = await route("auto-down", "hello there");
    expect(down.endpoint!.servedModel).toBe("large-model");
    expect(down.modelReason).toBe(
      'route "auto-down": llm classifier failed (upstream_error) → fallback tier "large"',
    );
  });

  it("answers a stream's synchronous routes while one waits for the classifier, matched by request_id", async () => {
    const call = client.routeStream();
    const answers = call.responses[Symbol.asyncIterator]();
    call.send({ kind: { case: "route", value: { requestId: "slow-1", model: "auto-slow", prompt: "hi" } } });
    for (const requestId of ["fast-1", "fast-2", "fast-3"]) {
      call.send({ kind: { case: "route", value: { requestId, model: "small-model", prompt: "hi" } } });
    }
    call.end();
    const order: string[] = [];
    const byId = new Map<string, routerV1.RouteStreamResponse>();
    for (;;) {
      const next = await answers.next();
      if (next.done) break;
      const answer = next.value as routerV1.RouteStreamResponse;
      order.push(answer.requestId);
      byId.set(answer.requestId, answer);
    }
    expect(order).toEqual(["fast-1", "fast-2", "fast-3", "slow-1"]);
    expect(byId.get("slow-1")!.route!.endpoint!.servedModel).toBe("large-model");
    expect(byId.get("fast-2")!.route!.endpoint!.servedModel).toBe("small-model");
  });
});
