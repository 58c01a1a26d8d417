/**
 * Precise routing against vLLM-shaped engines: two Python stand-ins for vLLM's prefix cache and
 * KV-event publisher (test/support/vllm-kv-publisher.py — the model's Jinja chat template, Hugging
 * Face `tokenizers`, Python's cbor2/pickle + hashlib for the block hashes, msgspec + pyzmq for the
 * events, in the map shape with int hashes and the array shape with digest bytes) and the router
 * (run(): precise, vLLM hashing, the same tokenizer.json, the llama3 chat template) given the prompt
 * as the gateway renders it. Each request must go where its blocks are, with the cached prefix the
 * engine holds, LoRA requests by their adapter's blocks.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { type ChatMessage, createGrpcClient, Registry, renderChatTemplate, silentLogger } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";
import { mulberry32 } from "../src/models/index.js";
import { byteLevelTokenizerJson } from "./support/byte-level-tokenizer-json.js";
import { FakeEngine } from "./support/fake-engine.js";

const within = { timeoutMs: 15_000, intervalMs: 25 };
const modules = ["zmq", "tokenizers", "cbor2", "msgspec", "jinja2"];
const missing = modules.filter(
  (module) => spawnSync("python3", ["-c", `import ${module}`], { encoding: "utf8" }).status !== 0,
);
if (missing.length > 0) {
  console.warn(
    `skipping precise routing against vLLM-shaped publishers: python3 -m pip install ${missing.join(" ")} to run it`,
  );
}

/** One Python publisher: commands in on stdin, one JSON answer line each. */
class Publisher {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  port = 0;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on("line", (line) => this.waiting.shift()?.(line));
  }

  static async start(args: string[]): Promise<Publisher> {
    const script = new URL("./support/vllm-kv-publisher.py", import.meta.url).pathname;
    const publisher = new Publisher(spawn("python3", [script, ...args]));
    publisher.child.stderr.on("data", (chunk) => process.stderr.write(chunk));
    publisher.port = ((await publisher.next()) as { port: number }).port;
    return publisher;
  }

  async send(command: object): Promise<{ tokens: number; blocks: number }> {
    const answer = this.next();
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    return (await answer) as { tokens: number; blocks: number };
  }

  private next(): Promise<unknown> {
    return new Promise((resolve) => this.waiting.push((line) => resolve(JSON.parse(line))));
  }

  close(): void {
    this.child.kill();
  }
}

const llama3Specials = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

function writeTokenizer(dir: string): string {
  const random = mulberry32(3);
  const words = [
    "route",
    "cache",
    "block",
    "token",
    "engine",
    "prefix",
    "the",
    "of",
    "and",
    "model",
    "question",
  ];
  const corpus = Array.from({ length: 300 }, () =>
    Array.from({ length: 16 }, () => words[Math.floor(random() * words.length)]).join(
      random() < 0.8 ? " " : "\n",
    ),
  );
  const json = byteLevelTokenizerJson(corpus, {
    style: "llama3",
    mergeCount: 400,
    ignoreMerges: true,
    added: llama3Specials.map((content) => ({ content, special: true })),
  });
  const path = join(dir, "tokenizer.json");
  writeFileSync(path, JSON.stringify(json));
  return path;
}

function metricValue(text: string, name: string, labels = ""): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const conversation = (topic: string): ChatMessage[] => [
  {
    role: "system",
    content: `  You route questions about ${Array.from({ length: 90 }, (_, index) => `${topic}${index % 13}`).join(" ")}.\n`,
  },
  { role: "user", content: `Which ${topic} engine holds the prefix?` },
];

describe.skipIf(missing.length > 0).each(["sha256_cbor", "sha256"] as const)(
  "precise routing against vLLM-shaped engines hashing with %s",
  (algorithm) => {
    const dir = mkdtempSync(join(tmpdir(), "vllm-precise-"));
    const publishers: Publisher[] = [];
    const engines: FakeEngine[] = [];
    const ids = ["vllm-a", "vllm-b"];
    let router: RunningRouter;
    let client: ReturnType<typeof createGrpcClient<typeof routerV1.RouterService>>;
    const metrics = async () => (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();

    beforeAll(async () => {
      const tokenizerPath = writeTokenizer(dir);
      const seed = "7";
      publishers.push(
        await Publisher.start([tokenizerPath, algorithm, seed, "16", "map", "int"]),
        await Publisher.start([tokenizerPath, algorithm, seed, "16", "array", "bytes"]),
      );
      for (const _ of ids) engines.push(await new FakeEngine("llama").start());
      router = await run(
        {
          grpc: { host: "127.0.0.1", port: 0 },
          ops: { port: 0 },
          endpoints: ids.map((id, index) => ({
            id,
            url: engines[index]!.url,
            model: "llama",
            adapters: ["sql-lora"],
            kvEvents: { endpoint: `tcp://127.0.0.1:${publishers[index]!.port}` },
          })),
          routing: { defaultStrategy: "precise" },
          health: { intervalMs: 200, timeoutMs: 1_000 },
          kvEvents: {
            hashAlgorithm: algorithm,
            hashSeed: seed,
            blockSize: 16,
            tokenizer: { type: "hf", path: tokenizerPath },
            chatTemplate: "llama3",
          },
        },
        { logger: silentLogger(), registry: new Registry() },
      );
      client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
      await eventually(async () => {
        const text = await metrics();
        for (const id of ids) {
          expect(metricValue(text, "strata_router_kv_events_connected", `{endpoint="${id}"}`)).toBe(1);
        }
      }, within);
    }, 60_000);

    afterAll(async () => {
      client?.close();
      await router?.close();
      for (const publisher of publishers) publisher.close();
      await Promise.all(engines.map((engine) => engine.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    /** Publishes until the router's index holds the blocks (a PUB socket drops what it sent before the SUB joined). */
    async function store(index: number, messages: ChatMessage[], adapter: string | null = null) {
      const before =
        metricValue(await metrics(), "strata_router_kv_endpoint_blocks", `{endpoint="${ids[index]}"}`) ?? 0;
      let stored = { tokens: 0, blocks: 0 };
      await eventually(async () => {
        stored = await publishers[index]!.send({ messages, adapter });
        const blocks = metricValue(
          await metrics(),
          "strata_router_kv_endpoint_blocks",
          `{endpoint="${ids[index]}"}`,
        );
        expect(blocks).toBe(before + stored.blocks);
      }, within);
      return stored;
    }

    let sequence = 0;
    async function route(model: string, messages: ChatMessage[]) {
      const routed = await client.route({
        requestId: `${algorithm}-${++sequence}`,
        model,
        tenantId: "t",
        prompt: renderChatTemplate(messages),
      });
      await client.report({
        requestId: `${algorithm}-${sequence}`,
        endpointId: routed.endpoint!.id,
        outcome: routerV1.Outcome.SUCCESS,
        promptTokens: 1,
        cachedTokens: 0,
      });
      const cachedBlocks = (id: string) =>
        Number(
          /^(\d+)\//.exec(routed.candidates.find((candidate) => candidate.endpointId === id)!.reason)?.[1],
        );
      return { endpointId: routed.endpoint!.id, reason: routed.reason, cachedBlocks };
    }

    it("sends each conversation to the engine holding its blocks, LoRA requests by their adapter's", async () => {
      const first = conversation("alpha");
      const second = conversation("beta");
      const alpha = await store(0, first);
      const beta = await store(1, second);
      await store(1, first, "sql-lora");
      // vLLM recomputes the last prompt token, so a block is usable only with a token after it.
      const usable = (tokens: number) => Math.floor((tokens - 1) / 16);
      expect(usable(alpha.tokens)).toBeGreaterThan(10);

      const one = await route("llama", first);
      expect(one.endpointId).toBe("vllm-a");
      expect(one.cachedBlocks("vllm-b")).toBeLessThan(3);
      expect(one.reason).toContain(
        `longest cached prefix: ${usable(alpha.tokens)}/${usable(alpha.tokens)} blocks`,
      );
      const two = await route("llama", second);
      expect(two.endpointId).toBe("vllm-b");
      expect(two.reason).toContain(
        `longest cached prefix: ${usable(beta.tokens)}/${usable(beta.tokens)} blocks`,
      );
      // The same prompt under the adapter has other block hashes: only vllm-b stored those.
      const lora = await route("sql-lora", first);
      expect(lora.endpointId).toBe("vllm-b");
      expect(lora.reason).toContain(`longest cached prefix: ${usable(alpha.tokens)}/`);

      // The next turn reuses the stored prefix; its new blocks are nowhere yet.
      const next = [
        ...first,
        { role: "assistant", content: "It is vllm-a." },
        { role: "user", content: "Why?" },
      ];
      const three = await route("llama", next);
      expect(three.endpointId).toBe("vllm-a");
      // Every full block stored for the first prompt is a prefix of the longer one.
      expect(three.reason).toContain(`longest cached prefix: ${Math.floor(alpha.tokens / 16)}/`);
    });

    it("forgets an engine's blocks when it reports AllBlocksCleared", async () => {
      await publishers[0]!.send({ clear: true });
      await eventually(async () => {
        const text = await metrics();
        expect(metricValue(text, "strata_router_kv_endpoint_blocks", '{endpoint="vllm-a"}')).toBe(0);
      }, within);
      const routed = await route("llama", conversation("alpha"));
      expect(routed.cachedBlocks("vllm-a")).toBe(0);
      // vllm-b still holds the first block the two conversations' system prompts share.
      expect(routed.cachedBlocks("vllm-b")).toBeLessThan(3);
    });
  },
);
