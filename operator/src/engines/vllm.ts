import { engineReference } from "../model-deployment/sources.js";
import type { ModelDeployment } from "../model-deployment/types.js";
import { type Engine, enginePort, flag } from "./engine.js";

const maxLorasPerBatch = 4;

/**
 * `vllm serve` (flag names as in vLLM's engine arguments). LoRA adapters are served under their own names
 * (`--lora-modules name=path`); a hub adapter's path is its repo id, which vLLM downloads itself.
 */
export const vllmEngine: Engine = {
  kind: "vllm",
  usesHub: true,
  usesGpus: true,
  healthPath: "/health",
  metricsPath: "/metrics",
  loadGauges: { running: "vllm:num_requests_running", waiting: "vllm:num_requests_waiting" },
  defaultStartupSeconds: 1800,
  invocation(md: ModelDeployment) {
    const serving = md.spec.serving ?? {};
    const adapters = md.spec.adapters ?? [];
    const args = [
      engineReference(md.spec.model.source),
      ...flag("--served-model-name", md.spec.model.name),
      ...flag("--host", "0.0.0.0"),
      ...flag("--port", enginePort),
      serving.prefixCaching === false ? "--no-enable-prefix-caching" : "--enable-prefix-caching",
      ...flag("--tensor-parallel-size", serving.tensorParallelSize ?? 1),
      ...flag("--max-model-len", serving.maxModelLen),
      ...flag("--gpu-memory-utilization", serving.gpuMemoryUtilization),
      ...flag("--quantization", serving.quantization),
      ...flag("--dtype", serving.dtype),
      ...flag("--revision", md.spec.model.revision),
      ...flag("--tokenizer", md.spec.model.tokenizer && engineReference(md.spec.model.tokenizer)),
    ];
    if (adapters.length > 0) {
      // --max-loras (default 1) is how many adapters one batch may mix; each slot reserves GPU memory,
      // so it stays small and the rest wait their turn. spec.engine.args can raise it (the last flag wins).
      args.push(
        "--enable-lora",
        ...flag("--max-loras", Math.min(adapters.length, maxLorasPerBatch)),
        "--lora-modules",
      );
      args.push(...adapters.map((adapter) => `${adapter.name}=${engineReference(adapter.source)}`));
    }
    args.push(...(md.spec.engine?.args ?? []));
    return { command: ["vllm", "serve"], args, env: [] };
  },
};
