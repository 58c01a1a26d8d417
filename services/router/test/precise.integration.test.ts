/**
 * The whole precise path over real transports: engine-sim replicas publishing KV events over ZMQ, the
 * router (run(), precise strategy) following them, Route over gRPC with the prompt rendered exactly
 * as the gateway renders it (the kit's chat template, which engine-sim uses too), the request sent to
 * the chosen engine as the gateway sends it. A conversation must keep landing on the replica holding
 * its blocks, and the router's predicted cached prefix must equal the engine's `cached_tokens`.
 */
import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { type ChatMessage, createGrpcClient, Registry, renderChatTemplate, silentLogger } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";

const within = { timeoutMs: 10_000, intervalMs: 20 };

async function engine(): Promise<EngineSim> {
  return startEngineSim({
    port: 0,
    host: "127.0.0.1",
    model: "sim-llama",
    logLevel: "silent",
    timeScale: 0,
    randomOutputMinTokens: 6,
    randomOutputMaxTokens: 12,
    kvCapacityBlocks: 512,
    kvEvents: true,
    kvEventsEndpoint: "tcp://127.0.0.1:0",
    kvEventsReplayEndpoint: "tcp://127.0.0.1:0",
  });
}

interface ChatResult {
  content: string;
  promptTokens: number;
  cachedTokens: number;
}

/** What the gateway does with a RouteResponse: the request body goes to the chosen engine as sent. */
async function complete(url: string, model: string, messages: ChatMessage[]): Promise<ChatResult> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, max_tokens: 12 }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    choices: { message: { content: string } }[];
    usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } | null };
  };
  return {
    content: body.choices[0]!.message.content,
    promptTokens: body.usage.prompt_tokens,
    cachedTokens: body.usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

function metricValue(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("precise routing end to end: engine-sim KV events → router → engine", () => {
  const sims: EngineSim[] = [];
  let router: RunningRouter;
  let client: ReturnType<typeof createGrpcClient<typeof routerV1.RouterService>>;
  const ids = ["sim-a", "sim-b"];
  const metrics = async () => (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();

  beforeAll(async () => {
    sims.push(await engine(), await engine());
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: sims.map((sim, index) => ({
          id: ids[index]!,
          url: sim.url,
          model: "sim-llama",
          kvEvents: {
            endpoint: `tcp://127.0.0.1:${sim.kvEvents!.port}`,
            replayEndpoint: `tcp://127.0.0.1:${sim.kvEvents!.replayPort}`,
          },
        })),
        routing: { defaultStrategy: "precise" },
        health: { intervalMs: 200, timeoutMs: 1_000 },
      },
      { logger: silentLogger(), registry: new Registry() },
    );
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
    await eventually(async () => {
      const text = await metrics();
      for (const id of ids)
        expect(metricValue(text, "strata_router_kv_events_connected", `{endpoint="${id}"}`)).toBe(1);
    }, within);
  });

  afterAll(async () => {
    client?.close();
    await router?.close();
    await Promise.all(sims.map((sim) => sim.close()));
  });

  /** Waits until the router's index holds exactly what each engine's cache holds. */
  const settled = () =>
    eventually(async () => {
      const text = await metrics();
      sims.forEach((sim, index) => {
        const blocks =
          metricValue(text, "strata_router_kv_endpoint_blocks", `{endpoint="${ids[index]}"}`) ?? 0;
        expect(blocks).toBe(sim.model.snapshot().cachedBlocks);
      });
    }, within);

  let sequence = 0;
  /** One turn: Route (prompt as the gateway renders it), the engine call, Report with its usage. */
  async function turn(messages: ChatMessage[]) {
    const requestId = `conv-${++sequence}`;
    const routed = await client.route({
      requestId,
      model: "sim-llama",
      tenantId: "t",
      prompt: renderChatTemplate(messages),
    });
    const endpointId = routed.endpoint!.id;
    const chosen = routed.candidates.find((candidate) => candidate.endpointId === endpointId)!;
    const predictedBlocks = Number(/^(\d+)\//.exec(chosen.reason)?.[1]);
    const sim = sims[ids.indexOf(endpointId)]!;
    const result = await complete(sim.url, routed.endpoint!.servedModel, messages);
    await client.report({
      requestId,
      endpointId,
      outcome: routerV1.Outcome.SUCCESS,
      promptTokens: result.promptTokens,
      cachedTokens: result.cachedTokens,
    });
    await settled();
    return { endpointId, predictedTokens: predictedBlocks * 16, result, reason: routed.reason };
  }

  it("keeps each conversation on the replica holding its blocks and predicts the engine's cached_tokens", async () => {
    const words = (stem: string) =>
      Array.from({ length: 160 }, (_, index) => `${stem}${index % 37}`).join(" ");
    const conversations: ChatMessage[][] = [
      [{ role: "system", content: `You answer questions about ${words("alpha")}.` }],
      [{ role: "system", content: `You answer questions about ${words("beta")}.` }],
    ];
    const homes: string[] = [];
    for (const [index, messages] of conversations.entries()) {
      messages.push({ role: "user", content: `First question of conversation ${index}?` });
      const first = await turn(messages);
      expect(first.predictedTokens).toBe(0);
      expect(first.result.cachedTokens).toBe(0);
      homes.push(first.endpointId);
      messages.push({ role: "assistant", content: first.result.content });
    }
    // No cached prefix anywhere and equal load: the two cold conversations were spread.
    expect(new Set(homes).size).toBe(2);

    for (let round = 2; round <= 4; round++) {
      for (const [index, messages] of conversations.entries()) {
        messages.push({
          role: "user",
          content: `Follow-up ${round} in conversation ${index}, about item ${round * 3}.`,
        });
        const next = await turn(messages);
        expect(next.endpointId).toBe(homes[index]);
        expect(next.reason).toMatch(/^longest cached prefix: \d+\/≈?\d+ blocks/);
        expect(next.predictedTokens).toBeGreaterThan(0);
        expect(next.predictedTokens).toBe(next.result.cachedTokens);
        messages.push({ role: "assistant", content: next.result.content });
      }
    }

    const text = await metrics();
    for (const id of ids) {
      expect(
        metricValue(text, "strata_router_kv_events_batches_total", `{endpoint="${id}"}`),
      ).toBeGreaterThan(0);
      expect(metricValue(text, "strata_router_kv_events_gaps_total", `{endpoint="${id}"}`)).toBe(0);
    }
    expect(metricValue(text, "strata_router_kv_blocks_tracked")).toBeGreaterThan(0);
    expect(metricValue(text, "strata_router_precise_prefix_lookups_total", '{result="hit"}')).toBeGreaterThan(
      0,
    );
  });
});
