import { engineReference, parseSource } from "../model-deployment/sources.js";
import type { ModelDeployment } from "../model-deployment/types.js";
import { type Engine, enginePort, flag } from "./engine.js";

/**
 * `text-generation-launcher` (flag names as in TGI's launcher reference). TGI has no prefix-caching
 * flag: the launcher reads PREFIX_CACHING from its environment. Hub adapters are loaded by repo id
 * (clients select them with that id); local ones as `name=path`.
 */
export const tgiEngine: Engine = {
  kind: "tgi",
  usesHub: true,
  usesGpus: true,
  healthPath: "/health",
  metricsPath: "/metrics",
  loadGauges: { running: "tgi_batch_current_size", waiting: "tgi_queue_size" },
  defaultStartupSeconds: 1800,
  invocation(md: ModelDeployment) {
    const serving = md.spec.serving ?? {};
    const maxTotal = serving.maxModelLen;
    const adapters = (md.spec.adapters ?? []).map((adapter) =>
      parseSource(adapter.source).kind === "hub"
        ? engineReference(adapter.source)
        : `${adapter.name}=${engineReference(adapter.source)}`,
    );
    const args = [
      ...flag("--model-id", engineReference(md.spec.model.source)),
      ...flag("--revision", md.spec.model.revision),
      ...flag("--hostname", "0.0.0.0"),
      ...flag("--port", enginePort),
      ...flag("--num-shard", serving.tensorParallelSize ?? 1),
      ...flag("--max-total-tokens", maxTotal),
      // TGI's default input limit can exceed a small total; keep one token for the answer.
      ...flag("--max-input-tokens", maxTotal === undefined ? undefined : Math.max(1, maxTotal - 1)),
      ...flag("--quantize", serving.quantization),
      ...flag("--dtype", serving.dtype === "auto" ? undefined : serving.dtype),
      ...flag("--cuda-memory-fraction", serving.gpuMemoryUtilization),
      ...flag("--lora-adapters", adapters.length > 0 ? adapters.join(",") : undefined),
      ...(md.spec.engine?.args ?? []),
    ];
    const env = serving.prefixCaching === false ? [{ name: "PREFIX_CACHING", value: "0" }] : [];
    return { command: ["text-generation-launcher"], args, env };
  },
};
