import type { EngineKind } from "../model-deployment/types.js";
import type { Engine } from "./engine.js";
import { simEngine } from "./sim.js";
import { tgiEngine } from "./tgi.js";
import { vllmEngine } from "./vllm.js";

/** The in-tree engines, by spec.engine.kind. */
export const engines: Record<EngineKind, Engine> = {
  vllm: vllmEngine,
  tgi: tgiEngine,
  sim: simEngine,
};
