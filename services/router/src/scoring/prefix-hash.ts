import { z } from "zod";
import { hashString } from "../prefix/block-hash.js";
import type { Candidate } from "./candidate.js";
import { explanation, type Strategy, type StrategyDecision, strategyPlugin } from "./strategy.js";
import { formatNumber } from "./tie-break.js";

/** Defaults are KubeAI's: `prefixCharLength` 100, `replication` 256, `meanLoadFactor` 125. */
export const prefixHashParamsSchema = z
  .object({
    prefixChars: z.number().int().min(1).default(100),
    replication: z.number().int().min(1).default(256),
    loadFactor: z.number().min(1).default(1.25),
  })
  .strict();

export type PrefixHashParams = z.input<typeof prefixHashParamsSchema>;

interface Ring {
  /** Sorted positions of the virtual nodes. */
  points: Float64Array;
  /** For each point, the candidate's endpoint id. */
  owners: string[];
}

/**
 * prefix-hash: KubeAI's consistent hashing with bounded loads (CHWBL). The key is the first
 * `prefixChars` characters of the prompt plus the adapter; each endpoint sits on the ring
 * `replication` times (hash of id + i). Walk clockwise from the key: the first eligible endpoint whose
 * load + 1 ≤ ((total + 1) / n) × loadFactor wins; if none does, the first eligible one. Load is the
 * router's in-flight count, as in KubeAI. Hash: our 53-bit cyrb53 where KubeAI uses xxHash64 — only the
 * spread of points matters. Score: 1 for the chosen endpoint, 0 otherwise (the ring has no ranking).
 */
export function createPrefixHash(params: z.output<typeof prefixHashParamsSchema>): Strategy {
  let ring: Ring | undefined;
  let ringKey = "";
  let scores = new Float64Array(64);

  const ringFor = (candidates: readonly Candidate[]): Ring => {
    // Rebuilt only when the endpoint set changes; the key costs one join per decision, which is
    // cheaper than hashing 256 × n points.
    let key = "";
    for (const candidate of candidates) key += `${candidate.endpoint.id}\n`;
    if (ring === undefined || key !== ringKey) {
      ring = buildRing(
        candidates.map((candidate) => candidate.endpoint.id),
        params.replication,
      );
      ringKey = key;
    }
    return ring;
  };

  return {
    name: "prefix-hash",
    decide(request, candidates): StrategyDecision {
      const { points, owners } = ringFor(candidates);
      const byId = new Map<string, number>();
      let total = 0;
      let eligible = 0;
      candidates.forEach((candidate, index) => {
        byId.set(candidate.endpoint.id, index);
        if (!candidate.eligible) return;
        eligible++;
        total += candidate.inFlight;
      });
      if (eligible === 0) throw new Error("prefix-hash called without eligible candidates");
      const bound = ((total + 1) / eligible) * params.loadFactor;
      const key = request.prompt.slice(0, params.prefixChars) + (request.adapter ?? "");
      const start = lowerBound(points, hashString(key));
      let chosenIndex = -1;
      let fallback = -1;
      let steps = 0;
      for (; steps < points.length; steps++) {
        const index = byId.get(owners[(start + steps) % points.length]!)!;
        const candidate = candidates[index]!;
        if (!candidate.eligible) continue;
        if (fallback < 0) fallback = index;
        if (candidate.inFlight + 1 <= bound) {
          chosenIndex = index;
          break;
        }
      }
      const bounded = chosenIndex >= 0;
      if (!bounded) chosenIndex = fallback;
      if (scores.length < candidates.length) scores = new Float64Array(candidates.length * 2);
      scores.fill(0, 0, candidates.length);
      scores[chosenIndex] = 1;
      return {
        chosen: candidates[chosenIndex]!,
        chosenIndex,
        scores: scores.subarray(0, candidates.length),
        explain() {
          const limit = formatNumber(bound);
          const chosen = candidates[chosenIndex]!;
          const reason = bounded
            ? `prefix-hash: ring owner ${steps === 0 ? "of the prefix" : `after ${steps} step(s) past loaded endpoints`}, in-flight ${chosen.inFlight} within bound ${limit}`
            : `prefix-hash: every endpoint over bound ${limit}, first on the ring`;
          return explanation(reason, () =>
            candidates.map(
              (candidate) =>
                `in-flight ${candidate.inFlight}, ${candidate.inFlight + 1 <= bound ? "within" : "over"} bound ${limit}`,
            ),
          );
        },
      };
    },
  };
}

export const prefixHashPlugin = strategyPlugin(prefixHashParamsSchema, createPrefixHash);

function buildRing(endpointIds: readonly string[], replication: number): Ring {
  const entries: { point: number; owner: string }[] = [];
  for (const id of endpointIds) {
    for (let replica = 0; replica < replication; replica++) {
      entries.push({ point: hashString(`${id}${replica}`), owner: id });
    }
  }
  entries.sort((a, b) => a.point - b.point || (a.owner < b.owner ? -1 : 1));
  return {
    points: Float64Array.from(entries, (entry) => entry.point),
    owners: entries.map((entry) => entry.owner),
  };
}

/** First point ≥ value, wrapping to 0 past the end (clockwise on the ring). */
function lowerBound(points: Float64Array, value: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (points[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low === points.length ? 0 : low;
}
