/**
 * The ModelDeployment's schema: the one definition of its fields, their documentation (`kubectl explain`),
 * defaults, enums and CEL rules. The CRD manifest (`pnpm crd:gen` → charts/strata/crds/) and the
 * operator's TypeScript types (types.ts) are both derived from it.
 */
import {
  anyObject,
  array,
  boolean,
  enumOf,
  integer,
  intOrString,
  map,
  number,
  object,
  openObject,
  string,
} from "../crd/schema-builder.js";

export const engineKindSchema = enumOf(["vllm", "tgi", "sim"], {
  description: "vllm, tgi, or sim (engine-sim: the vLLM API without a GPU, for tests and GPU-less clusters).",
  default: "vllm",
});

const modelSchema = object(
  {
    name: string({
      description: "Name clients send in the `model` field (the engine's served model name).",
      minLength: 1,
      maxLength: 128,
      pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
    }),
    source: string({
      description:
        "Where the weights are: hf://<org>/<name> (Hugging Face Hub) or pvc://<claim>/<path> (a PersistentVolumeClaim in this namespace).",
      pattern: "^(hf://[A-Za-z0-9._-]+/[A-Za-z0-9._-]+|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/.*)?)$",
    }),
    revision: string({
      description: "Hub revision (branch, tag or commit) to pin; recommended for reproducible rollouts.",
    }),
    tokenizer: string({ description: "Tokenizer to load when it differs from the model (hf://org/name)." }),
  },
  { description: "The model to serve and where its weights come from.", required: ["name", "source"] },
);

export const envVarSchema = openObject(
  {
    name: string({ description: "Variable name." }),
    value: string({ description: "Literal value (or use valueFrom, as in a container's env)." }),
  },
  { required: ["name"] },
);

const engineSchema = object(
  {
    kind: engineKindSchema,
    image: string({
      description: "Container image override; defaults to the operator's pinned image for the engine.",
    }),
    args: array(string(), {
      description: "Extra engine arguments, appended after the ones the operator derives from spec.serving.",
    }),
    startupTimeoutSeconds: integer({
      minimum: 60,
      maximum: 14400,
      description:
        "How long the engine may take to download and load its weights before it counts as failed (the startup probe's budget). Defaults: 1800 for vllm and tgi, 120 for sim.",
    }),
    env: array(envVarSchema, {
      description:
        "Extra environment variables for the engine container (same shape as a container's env); they override the operator's by name.",
    }),
  },
  { description: "Which inference engine runs the model.", default: { kind: "vllm" } },
);

const servingSchema = object(
  {
    maxModelLen: integer({
      minimum: 1,
      description: "Longest context in tokens (vLLM --max-model-len, TGI --max-total-tokens).",
    }),
    gpuMemoryUtilization: number({
      minimum: 0.1,
      maximum: 1,
      description:
        "Share of GPU memory the engine may use for weights and KV cache (vLLM --gpu-memory-utilization, TGI --cuda-memory-fraction).",
    }),
    prefixCaching: boolean({
      default: true,
      description:
        "Keep KV blocks of shared prompt prefixes; the router's cache-aware routing depends on it.",
    }),
    quantization: enumOf(["awq", "gptq", "fp8", "bitsandbytes", "marlin", "eetq"], {
      description:
        "Quantization method (vLLM --quantization, TGI --quantize); pre-quantized models need none.",
    }),
    dtype: enumOf(["auto", "float16", "bfloat16", "float32"], {
      description: "Weight and activation type (vLLM --dtype, TGI --dtype); auto takes the model's own.",
    }),
    tensorParallelSize: integer({
      minimum: 1,
      maximum: 16,
      default: 1,
      description: "GPUs each replica shards the model over; must equal resources.gpu.count.",
    }),
  },
  { description: "Serving options, mapped to the engine's own flags." },
);

const adapterSchema = object(
  {
    name: string({
      description: "Name clients send in the `model` field to use the adapter (vLLM --lora-modules name=…).",
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
    }),
    source: string({
      description: "Where the adapter's weights are: hf://<org>/<name> or pvc://<claim>/<path>.",
      pattern: "^(hf://|pvc://).+",
    }),
  },
  { required: ["name", "source"] },
);

const resourcesSchema = object(
  {
    gpu: object(
      {
        count: integer({
          minimum: 0,
          maximum: 16,
          default: 1,
          description: "GPUs per replica, requested as a limit of resourceName; engine-sim asks for none.",
        }),
        resourceName: string({
          default: "nvidia.com/gpu",
          description: "Extended resource that schedules GPUs (nvidia.com/gpu, amd.com/gpu).",
        }),
        type: string({
          description: "GPU model label value to select nodes by (for example NVIDIA-A100-SXM4-80GB).",
        }),
      },
      { description: "GPUs of each replica.", default: {} },
    ),
    cpu: intOrString({
      pattern: "^[0-9]+(\\.[0-9]+)?m?$",
      description: "CPU request per replica (no limit is set, so the engine is never throttled).",
    }),
    memory: intOrString({
      description: "Memory request and limit per replica.",
      pattern: "^[0-9]+(\\.[0-9]+)?([EPTGMK]i?|[eE][0-9]+)?$",
    }),
  },
  { description: "Hardware for each replica.", default: {} },
);

const cacheSchema = object(
  {
    existingClaim: string({ description: "A PersistentVolumeClaim in this namespace to mount at /models." }),
    storageClassName: string({
      description:
        "Storage class of the claim the operator creates from size (the cluster default when unset).",
    }),
    size: intOrString({
      pattern: "^[0-9]+([EPTGMK]i?)?$",
      description: "Size of the claim <name>-model-cache the operator creates.",
    }),
    accessMode: enumOf(["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"], {
      default: "ReadWriteOnce",
      description:
        "Access mode of the created claim; replicas on different nodes share it only with ReadWriteMany.",
    }),
    reclaimPolicy: enumOf(["Retain", "Delete"], {
      default: "Retain",
      description:
        "What happens to the created claim when the ModelDeployment is deleted: Retain keeps the downloaded weights (a ModelDeployment of the same name reuses them), Delete removes the claim.",
    }),
  },
  {
    description: "Volume that keeps downloaded weights across restarts (mounted at /models).",
    validations: [
      {
        rule: "has(self.existingClaim) != has(self.size)",
        message: "set either cache.existingClaim or cache.size (with an optional storageClassName), not both",
      },
    ],
  },
);

export const autoscalingSchema = object(
  {
    minReplicas: integer({
      minimum: 0,
      default: 1,
      description: "Fewest replicas while the model takes traffic (0 only with scaleToZero).",
    }),
    maxReplicas: integer({ minimum: 1, maximum: 1000, description: "Most replicas the autoscaler sets." }),
    targetInFlightPerReplica: integer({
      minimum: 1,
      default: 16,
      description: "In-flight requests per replica the autoscaler aims for.",
    }),
    targetQueueDepthPerReplica: integer({
      minimum: 0,
      description:
        "Waiting requests per replica above which it scales up, whatever the in-flight target says.",
    }),
    windowSeconds: integer({
      minimum: 10,
      default: 60,
      description: "Load is averaged over this window.",
    }),
    scaleDownDelaySeconds: integer({
      minimum: 0,
      default: 300,
      description: "Lower load must last this long before replicas are removed.",
    }),
    scaleToZero: boolean({
      default: false,
      description: "Remove the last replica when idle; the gateway holds requests while it comes back.",
    }),
  },
  {
    description:
      "Scale between bounds on the load the engines report (in-flight and waiting requests per replica, averaged over windowSeconds); the operator writes spec.replicas.",
    required: ["maxReplicas"],
    validations: [
      {
        rule: "self.minReplicas <= self.maxReplicas",
        message: "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
      },
      {
        rule: "self.minReplicas > 0 || self.scaleToZero",
        message: "autoscaling.minReplicas 0 needs autoscaling.scaleToZero: true",
      },
    ],
  },
);

const priceSchema = object(
  {
    inputPerMillion: number({ minimum: 0, description: "Prompt tokens." }),
    outputPerMillion: number({ minimum: 0, description: "Generated tokens." }),
    cachedInputPerMillion: number({
      minimum: 0,
      description: "Prompt tokens served from the prefix cache; the input price when unset.",
    }),
  },
  { description: "USD per million tokens, for cost accounting and budgets." },
);

const routingSchema = object(
  {
    strategy: enumOf(["kv-aware", "precise", "cache-aware", "prefix-hash", "least-load", "round-robin"], {
      description: "How the router picks a replica for each request (the router's default when unset).",
    }),
    tier: string({ description: "Model tier for model routing (for example small or large)." }),
    aliases: array(string(), { description: "Other model names clients may use for this model." }),
    fallbacks: array(string(), { description: "Models the gateway tries, in order, when this one fails." }),
    price: priceSchema,
  },
  { description: "How Strata's router and gateway treat this model." },
);

const specValidations = [
  {
    rule: "!has(self.autoscaling) || !has(self.replicas) || (self.replicas == 0 && has(self.autoscaling.scaleToZero) && self.autoscaling.scaleToZero) || (self.replicas >= self.autoscaling.minReplicas && self.replicas <= self.autoscaling.maxReplicas)",
    message:
      "spec.replicas must lie within spec.autoscaling.minReplicas..maxReplicas (or be 0 with autoscaling.scaleToZero)",
  },
  {
    rule: "self.engine.kind == 'sim' || !has(self.serving) || !has(self.serving.tensorParallelSize) || self.resources.gpu.count == self.serving.tensorParallelSize",
    message:
      "resources.gpu.count must equal serving.tensorParallelSize: each replica shards the model over that many GPUs",
  },
  {
    rule: "self.engine.kind != 'tgi' || !has(self.adapters) || size(self.adapters) == 0 || self.adapters.all(a, a.source.startsWith('hf://'))",
    message: "TGI loads LoRA adapters from the hub only: adapters[].source must be hf://",
  },
  {
    rule: "self.model.name == oldSelf.model.name",
    message:
      "spec.model.name is immutable (clients and routes use it): create a new ModelDeployment to serve another name",
  },
  {
    rule: "self.engine.kind == oldSelf.engine.kind",
    message:
      "spec.engine.kind is immutable: create a new ModelDeployment for another engine and shift traffic with routing.aliases",
  },
  {
    rule: "self.engine.kind != 'vllm' || !has(self.serving) || !has(self.serving.quantization) || self.serving.quantization in ['awq', 'gptq', 'fp8', 'bitsandbytes']",
    message:
      "vLLM takes serving.quantization awq, gptq, fp8 or bitsandbytes (marlin and eetq are TGI methods)",
  },
  {
    rule: "self.engine.kind != 'tgi' || !has(self.serving) || !has(self.serving.dtype) || self.serving.dtype in ['auto', 'float16', 'bfloat16']",
    message: "TGI takes serving.dtype float16 or bfloat16 (or auto, the model's own)",
  },
  {
    rule: "self.engine.kind != 'tgi' || !has(self.serving) || !has(self.serving.dtype) || self.serving.dtype == 'auto' || !has(self.serving.quantization)",
    message: "TGI cannot combine serving.dtype with serving.quantization: set one of them",
  },
  {
    rule: "self.engine.kind != 'tgi' || !has(self.model.tokenizer)",
    message: "TGI loads the model's own tokenizer: remove spec.model.tokenizer",
  },
];

export const modelDeploymentSpecSchema = object(
  {
    model: modelSchema,
    engine: engineSchema,
    serving: servingSchema,
    adapters: array(adapterSchema, {
      description:
        "LoRA adapters served next to the base model. vLLM serves each under its name; TGI loads them from the hub by repo id, and clients select one by that id. engine-sim ignores them.",
      listType: "map",
      listMapKeys: ["name"],
      maxItems: 64,
    }),
    resources: resourcesSchema,
    nodeSelector: map(string(), {
      description: "Node labels the engine pods must match (as a pod's nodeSelector).",
    }),
    tolerations: array(openObject({}), {
      description: "Taints the engine pods tolerate, as a pod's tolerations (GPU nodes are often tainted).",
    }),
    affinity: anyObject({
      description: "Pod affinity and anti-affinity, as a pod's affinity.",
      preserveUnknownFields: true,
    }),
    cache: cacheSchema,
    hubTokenSecretRef: object(
      {
        name: string({ description: "Secret in this namespace." }),
        key: string({ default: "token", description: "Key of the token in the Secret." }),
      },
      {
        description:
          "Secret holding the Hugging Face token for gated models (given to the engine as HF_TOKEN).",
        required: ["name"],
      },
    ),
    replicas: integer({
      minimum: 0,
      description:
        "Desired replicas; the autoscaler (or an HPA through the scale subresource) adjusts it within spec.autoscaling.",
    }),
    autoscaling: autoscalingSchema,
    routing: routingSchema,
  },
  {
    description:
      "What to serve, on which engine and hardware, how many replicas, and how Strata routes to it.",
    required: ["model"],
    validations: specValidations,
  },
);

export const conditionSchema = object(
  {
    type: string({ description: "Available, Progressing or Degraded." }),
    status: enumOf(["True", "False", "Unknown"]),
    reason: string({ description: "One CamelCase word saying why (for example CrashLoopBackOff)." }),
    message: string({ description: "What happened and, when something is wrong, what to fix." }),
    observedGeneration: integer({ description: "The metadata.generation the condition was computed for." }),
    lastTransitionTime: string({ format: "date-time", description: "When status last changed." }),
  },
  { required: ["type", "status", "reason", "message"] },
);

export const endpointStatusSchema = object(
  {
    name: string({ description: "The engine pod." }),
    url: string({ description: "http://ip:port of the engine's HTTP API." }),
    ready: boolean({ description: "Whether the engine passes its readiness probe and takes traffic." }),
  },
  { required: ["name", "url", "ready"] },
);

export const modelDeploymentStatusSchema = object(
  {
    observedGeneration: integer({ description: "The metadata.generation this status describes." }),
    replicas: integer({ description: "Engine pods that exist (ready or not)." }),
    readyReplicas: integer({ description: "Engine pods ready to serve." }),
    readyText: string({ description: "readyReplicas/replicas, for kubectl get." }),
    selector: string({ description: "Label selector of the engine pods (for the scale subresource)." }),
    endpoints: array(endpointStatusSchema, {
      description: "Ready engine endpoints the router sends traffic to.",
    }),
    conditions: array(conditionSchema, {
      description: "Available, Progressing and Degraded, with reasons and messages a person can act on.",
      listType: "map",
      listMapKeys: ["type"],
    }),
  },
  { description: "What the operator observed; written only by the operator." },
);

export const modelDeploymentSchema = object(
  {
    apiVersion: string(),
    kind: string(),
    metadata: anyObject(),
    spec: modelDeploymentSpecSchema,
    status: modelDeploymentStatusSchema,
  },
  {
    description: "A language model served by vLLM, TGI or engine-sim pods, routed and priced by Strata.",
    required: ["spec"],
    validations: [
      {
        rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message:
          "metadata.name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63 characters): it also names the engine Service",
      },
    ],
  },
);
