import type { EndpointTable } from "../endpoints/endpoint-table.js";
import { modelNotFound } from "../models/index.js";

/** Where a request goes: a served model's endpoints, and the LoRA adapter it names, if any. */
export interface RouteTarget {
  /** The served (base) model whose endpoints are candidates; strategies are per base model. */
  model: string;
  /** The adapter the client asked for: only endpoints serving it qualify, and it is sent upstream. */
  adapter: string | undefined;
}

/** Resolves a model name (served model, endpoint alias or adapter) to its target; throws model_not_found. */
export function resolveTarget(
  table: Pick<EndpointTable, "resolveModel" | "adapterBase">,
  name: string,
  requested: string,
): RouteTarget {
  const model = table.resolveModel(name);
  if (model !== undefined) return { model, adapter: undefined };
  const base = table.adapterBase(name);
  if (base !== undefined) return { model: base, adapter: name };
  throw modelNotFound(requested);
}
