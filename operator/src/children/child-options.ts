import type { EngineKind } from "../model-deployment/types.js";

/** Operator-wide settings the child builders need. */
export interface ChildOptions {
  images: Record<EngineKind, string>;
}
