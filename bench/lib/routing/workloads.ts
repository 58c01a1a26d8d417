/**
 * The four routing workloads, generated from a seed. Each request is rendered with engine-sim's chat
 * template and tokenized with its tokenizer once, so every strategy sees the very same requests and
 * the engines see exactly the tokens whose prefixes they cache. Arrivals are open-loop: the schedule
 * is fixed before the run and does not wait for answers (a Poisson process; multi-turn sessions start
 * as one and space their turns by a think time).
 */
import { type ChatMessage, renderChatTemplate, Tokenizer } from "@strata/engine-sim";
import { Random, words } from "./text.js";

export const workloadNames = ["multi-turn", "shared-context", "no-sharing", "hot-prefix"] as const;
export type WorkloadName = (typeof workloadNames)[number];

export interface SimRequest {
  id: string;
  arrivalMs: number;
  tenantId: string;
  /** The prompt as the engine renders it: what prefix-aware strategies index. */
  prompt: string;
  promptTokenIds: number[];
  outputTokenIds: number[];
  /** The chat messages the prompt was rendered from: what a client sends over the OpenAI API. */
  messages: ChatMessage[];
}

export interface Workload {
  name: WorkloadName;
  /** One line for the results table. */
  shape: string;
  ratePerS: number;
  requests: SimRequest[];
}

interface Draft {
  arrivalMs: number;
  tenantId: string;
  messages: ChatMessage[];
  reply: string;
}

/** Offered load per workload, chosen so least-load keeps the prefill lanes ~70–80% busy (see README). */
export const workloadRates: Record<WorkloadName, number> = {
  "multi-turn": 80,
  "shared-context": 27,
  "no-sharing": 72,
  "hot-prefix": 65,
};

export interface WorkloadOptions {
  /**
   * Shrinks a workload for a smaller fleet: the arrival rate and the number of distinct prefixes
   * (apps, tenants' documents, cold prefixes) are both multiplied by it, so each prefix recurs as often
   * as at full size and the working set shrinks with the offered load. 1 (the default) is the full size.
   */
  scale?: number;
}

export function buildWorkload(
  name: WorkloadName,
  durationS: number,
  seed = 1,
  options: WorkloadOptions = {},
): Workload {
  const random = new Random(seed * 7919 + workloadNames.indexOf(name));
  const scale = options.scale ?? 1;
  const ratePerS = workloadRates[name] * scale;
  const durationMs = durationS * 1000;
  const { shape, drafts } = draftsFor(name, random, ratePerS, durationMs, scale);
  const encode = templateEncoder();
  const requests = drafts
    .filter((draft) => draft.arrivalMs < durationMs)
    .sort((a, b) => a.arrivalMs - b.arrivalMs)
    .map((draft, index) => {
      const prompt = renderChatTemplate(draft.messages);
      return {
        id: `${name}-${index}`,
        arrivalMs: draft.arrivalMs,
        tenantId: draft.tenantId,
        prompt,
        promptTokenIds: encode(draft.messages, index < 8 ? prompt : undefined),
        outputTokenIds: encode.text(draft.reply),
        messages: draft.messages,
      };
    });
  return { name, shape, ratePerS, requests };
}

/**
 * Token ids of the rendered chat template, built from cached per-message encodings: documents and
 * histories recur across requests, and tokenizing them once keeps workload generation fast. Our
 * text (words without punctuation) never merges across the template's boundaries, which
 * `check` verifies against encoding the whole prompt.
 */
function templateEncoder() {
  const tokenizer = new Tokenizer();
  const cache = new Map<string, number[]>();
  const text = (value: string): number[] => {
    let ids = cache.get(value);
    if (!ids) {
      ids = tokenizer.encode(value);
      cache.set(value, ids);
    }
    return ids;
  };
  const encode = (messages: readonly ChatMessage[], check?: string): number[] => {
    const ids = [...text("<s>")];
    for (const message of messages) {
      ids.push(...text(`<|${message.role}|>\n`), ...text(message.content as string), ...text("<|end|>\n"));
    }
    ids.push(...text("<|assistant|>\n"));
    if (check !== undefined && tokenizer.encode(check).join() !== ids.join()) {
      throw new Error("workload text does not tokenize segment by segment");
    }
    return ids;
  };
  return Object.assign(encode, { text });
}

function draftsFor(name: WorkloadName, random: Random, ratePerS: number, durationMs: number, scale: number) {
  switch (name) {
    case "multi-turn":
      return multiTurn(random, ratePerS, durationMs, scaled(8, scale));
    case "shared-context":
      return sharedContext(random, ratePerS, durationMs, scaled(64, scale));
    case "no-sharing":
      return noSharing(random, ratePerS, durationMs);
    case "hot-prefix":
      return hotPrefix(random, ratePerS, durationMs, scaled(128, scale));
  }
}

/** A population count at the given scale: rounded, and never below one. */
function scaled(count: number, scale: number): number {
  return Math.max(1, Math.round(count * scale));
}

function poisson(random: Random, ratePerS: number, durationMs: number): number[] {
  const times: number[] = [];
  for (
    let at = random.exponential(1000 / ratePerS);
    at < durationMs;
    at += random.exponential(1000 / ratePerS)
  ) {
    times.push(at);
  }
  return times;
}

/** 8 applications (at full size) with a 300-token system prompt each; users hold 3–10-turn conversations. */
function multiTurn(random: Random, ratePerS: number, durationMs: number, apps: number) {
  const systems = Array.from({ length: apps }, () => words(random, 300));
  const meanTurns = 6.5;
  const drafts: Draft[] = [];
  poisson(random, ratePerS / meanTurns, durationMs).forEach((start, user) => {
    const app = random.int(0, systems.length - 1);
    const history: ChatMessage[] = [{ role: "system", content: systems[app] as string }];
    let at = start;
    for (let turn = random.int(3, 10); turn > 0; turn--) {
      history.push({ role: "user", content: words(random, random.int(100, 300)) });
      const reply = words(random, random.int(40, 100));
      drafts.push({ arrivalMs: at, tenantId: `app-${app}-user-${user}`, messages: [...history], reply });
      history.push({ role: "assistant", content: reply });
      at += 2000 + random.exponential(2000);
    }
  });
  return {
    shape: `${apps} apps × 300-token system prompt; sessions of 3–10 turns, 2 s + Exp(2 s) apart, each +100–300 user and 40–100 reply tokens`,
    drafts,
  };
}

/** 64 tenants (at full size), each with a ~3000-token document; users ask 10–40-token questions about it. */
function sharedContext(random: Random, ratePerS: number, durationMs: number, tenants: number) {
  const documents = Array.from({ length: tenants }, () => words(random, random.int(2500, 3500)));
  const drafts = poisson(random, ratePerS, durationMs).map((arrivalMs): Draft => {
    const tenant = random.int(0, documents.length - 1);
    return {
      arrivalMs,
      tenantId: `tenant-${tenant}`,
      messages: [
        { role: "system", content: documents[tenant] as string },
        { role: "user", content: words(random, random.int(10, 40)) },
      ],
      reply: words(random, random.int(20, 60)),
    };
  });
  return {
    shape: `${tenants} tenants × 2500–3500-token document; 10–40-token questions, 20–60-token answers`,
    drafts,
  };
}

/** Every prompt unique: nothing to gain from the cache, everything from spreading load. */
function noSharing(random: Random, ratePerS: number, durationMs: number) {
  const drafts = poisson(random, ratePerS, durationMs).map(
    (arrivalMs, index): Draft => ({
      arrivalMs,
      tenantId: `user-${index}`,
      messages: [{ role: "user", content: words(random, random.int(300, 1200)) }],
      reply: words(random, random.int(20, 60)),
    }),
  );
  return { shape: "unique 300–1200-token prompts, 20–60-token answers", drafts };
}

/** Half the requests share one 4000-token prefix; the rest spread over 128 cold 2000-token prefixes (at full size). */
function hotPrefix(random: Random, ratePerS: number, durationMs: number, coldPrefixes: number) {
  const hot = words(random, 4000);
  const cold = Array.from({ length: coldPrefixes }, () => words(random, 2000));
  const drafts = poisson(random, ratePerS, durationMs).map((arrivalMs): Draft => {
    const isHot = random.next() < 0.5;
    const coldIndex = random.int(0, cold.length - 1);
    return {
      arrivalMs,
      tenantId: isHot ? "hot" : `cold-${coldIndex}`,
      messages: [
        { role: "system", content: isHot ? hot : (cold[coldIndex] as string) },
        { role: "user", content: words(random, random.int(20, 60)) },
      ],
      reply: words(random, random.int(20, 60)),
    };
  });
  return {
    shape: `50% share one 4000-token prefix, 50% over ${coldPrefixes} × 2000-token prefixes; 20–60-token questions, 20–60-token answers`,
    drafts,
  };
}
