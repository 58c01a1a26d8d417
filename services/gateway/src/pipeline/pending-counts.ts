import { Counter, type Registry } from "@strata/kit";
import type { UsageCounts } from "./usage-counts.js";

interface Cell {
  operation: string;
  model: string;
  statuses: Map<number, number>;
  /** Some answer with tokens was counted since the last flush. */
  tokens: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** More label sets than this are handed over at once instead of kept (model names come from clients). */
const MAX_CELLS = 1_000;

/**
 * Request and token counts per operation and model, kept as plain numbers and handed to the
 * prom-client counters (registered here) when they are collected (a scrape). prom-client hashes the
 * label object of every increment; a request makes four of them, so the hot path adds to fields here
 * instead.
 */
export class PendingCounts {
  private readonly cells = new Map<string, Map<string, Cell>>();
  private size = 0;
  private readonly requests: Counter<"operation" | "model" | "status">;
  private readonly tokens: Counter<"model" | "type">;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: "strata_gateway_requests_total",
      help: "Requests answered (completions and embeddings), by operation, model and HTTP status.",
      labelNames: ["operation", "model", "status"],
      registers: [registry],
      collect: () => this.flush(),
    });
    this.tokens = new Counter({
      name: "strata_gateway_tokens_total",
      help: "Tokens processed, by model and type (prompt, completion, cached).",
      labelNames: ["model", "type"],
      registers: [registry],
      collect: () => this.flush(),
    });
  }

  /** One finished request, and its tokens when it succeeded. */
  count(operation: string, model: string, status: number, usage: UsageCounts | undefined): void {
    const cell = this.cell(operation, model);
    cell.statuses.set(status, (cell.statuses.get(status) ?? 0) + 1);
    if (!usage) return;
    cell.tokens = true;
    cell.promptTokens += usage.promptTokens;
    cell.completionTokens += usage.completionTokens;
    cell.cachedTokens += usage.cachedTokens;
  }

  /** Hands everything counted so far to the counters; called from their collect(). */
  flush(): void {
    for (const byModel of this.cells.values()) {
      for (const cell of byModel.values()) {
        const { operation, model } = cell;
        for (const [status, count] of cell.statuses) this.requests.inc({ operation, model, status }, count);
        cell.statuses.clear();
        if (!cell.tokens) continue;
        // Zero-valued increments still create the series, as counting them one by one did.
        this.tokens.inc({ model, type: "prompt" }, cell.promptTokens);
        this.tokens.inc({ model, type: "completion" }, cell.completionTokens);
        this.tokens.inc({ model, type: "cached" }, cell.cachedTokens);
        cell.promptTokens = 0;
        cell.completionTokens = 0;
        cell.cachedTokens = 0;
        cell.tokens = false;
      }
    }
  }

  private cell(operation: string, model: string): Cell {
    let byModel = this.cells.get(operation);
    if (!byModel) {
      byModel = new Map();
      this.cells.set(operation, byModel);
    }
    let cell = byModel.get(model);
    if (!cell) {
      if (this.size >= MAX_CELLS) {
        this.flush();
        this.cells.clear();
        this.size = 0;
        return this.cell(operation, model);
      }
      cell = {
        operation,
        model,
        statuses: new Map(),
        tokens: false,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
      };
      byModel.set(model, cell);
      this.size++;
    }
    return cell;
  }
}
