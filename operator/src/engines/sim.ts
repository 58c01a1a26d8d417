import type { ModelDeployment } from "../model-deployment/types.js";
import { type Engine, enginePort, flag } from "./engine.js";

/** engine-sim's default KV cache, in blocks of 16 tokens; grown when the spec asks for longer contexts. */
const simBlockSize = 16;
const simDefaultBlocks = 2048;

/**
 * engine-sim speaking vLLM's API (services/engine-sim): no GPU, no weights, the same routes and metrics.
 * Its image puts `engine-sim` on the PATH.
 */
export const simEngine: Engine = {
  kind: "sim",
  usesHub: false,
  usesGpus: false,
  healthPath: "/health",
  metricsPath: "/metrics",
  // engine-sim exposes vLLM's gauges.
  loadGauges: { running: "vllm:num_requests_running", waiting: "vllm:num_requests_waiting" },
  defaultStartupSeconds: 120,
  invocation(md: ModelDeployment) {
    const serving = md.spec.serving ?? {};
    const maxModelLen = serving.maxModelLen;
    // engine-sim refuses a context longer than its KV cache; size the cache to fit.
    const blocks =
      maxModelLen === undefined
        ? undefined
        : Math.max(simDefaultBlocks, Math.ceil(maxModelLen / simBlockSize));
    const args = [
      ...flag("--host", "0.0.0.0"),
      ...flag("--port", enginePort),
      ...flag("--model", md.spec.model.name),
      ...flag("--api", "vllm"),
      ...flag("--max-model-len", maxModelLen),
      ...flag("--kv-capacity-blocks", blocks),
      serving.prefixCaching === false ? "--no-enable-prefix-caching" : "--enable-prefix-caching",
      ...(md.spec.engine?.args ?? []),
    ];
    return { command: ["engine-sim"], args, env: [] };
  },
};
