import type { V1EndpointSlice } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { buildDiscoveredState, type StaticNames } from "../src/discovery/index.js";

const noStatic: StaticNames = { endpointNames: new Map(), routingNames: new Set() };

function md(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: "strata.dev/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name, namespace: "team-a", ...metadata },
    spec: { engine: { kind: "sim" }, ...spec },
  };
}

interface Address {
  ip: string;
  pod?: string;
  ready?: boolean;
  terminating?: boolean;
}

function slice(
  service: string,
  port: number,
  addresses: Address[],
  options: { name?: string; portName?: string; addressType?: string; namespace?: string } = {},
): V1EndpointSlice {
  return {
    metadata: {
      name: options.name ?? `${service}-${port}`,
      namespace: options.namespace ?? "team-a",
      labels: { "kubernetes.io/service-name": service, "strata.dev/model-deployment": service },
    },
    addressType: options.addressType ?? "IPv4",
    ports: [{ name: options.portName ?? "http", port, protocol: "TCP" }],
    endpoints: addresses.map((address) => ({
      addresses: [address.ip],
      ...(address.pod ? { targetRef: { kind: "Pod", name: address.pod, namespace: "team-a" } } : {}),
      conditions: {
        ...(address.ready === undefined ? {} : { ready: address.ready }),
        ...(address.terminating === undefined ? {} : { terminating: address.terminating }),
      },
    })),
  };
}

describe("discovered endpoints", () => {
  it("turns ready addresses into endpoints with the deployment's model, api, adapters and capacity", () => {
    const state = buildDiscoveredState(
      [
        md(
          "llama",
          {
            model: { name: "llama-3.1-8b", source: "hf://meta-llama/Llama-3.1-8B-Instruct" },
            engine: { kind: "vllm" },
            adapters: [{ name: "sql-lora", source: "hf://org/sql" }],
          },
          { annotations: { "strata.dev/kv-capacity-tokens": "120000" } },
        ),
        md("mistral", { model: { name: "mistral", source: "hf://mistralai/m" }, engine: { kind: "tgi" } }),
      ],
      [
        slice("llama", 8000, [
          { ip: "10.0.0.1", pod: "llama-abc" },
          { ip: "10.0.0.2", pod: "llama-def", ready: true },
        ]),
        slice("mistral", 80, [{ ip: "10.0.1.1" }]),
      ],
      noStatic,
    );
    expect(state.problems).toEqual([]);
    expect(state.endpoints).toEqual([
      {
        id: "team-a/llama/llama-abc",
        url: "http://10.0.0.1:8000",
        model: "llama-3.1-8b",
        api: "openai",
        aliases: [],
        adapters: ["sql-lora"],
        kvCapacityTokens: 120_000,
      },
      expect.objectContaining({ id: "team-a/llama/llama-def", url: "http://10.0.0.2:8000" }),
      {
        id: "team-a/mistral/10.0.1.1:80",
        url: "http://10.0.1.1:80",
        model: "mistral",
        api: "tgi",
        aliases: [],
        adapters: [],
      },
    ]);
  });

  it("leaves out not-ready and terminating addresses, slices of other services and ports not named http", () => {
    const state = buildDiscoveredState(
      [md("sim", { model: { name: "sim", source: "hf://a/b" } })],
      [
        slice("sim", 8000, [
          { ip: "10.0.0.1", pod: "ready" },
          { ip: "10.0.0.2", pod: "not-ready", ready: false },
          { ip: "10.0.0.3", pod: "terminating", ready: false, terminating: true },
          { ip: "10.0.0.4", pod: "terminating-serving", terminating: true },
        ]),
        slice("other", 8000, [{ ip: "10.0.9.9" }]),
        slice("sim", 9000, [{ ip: "10.0.0.5", pod: "metrics-only" }], {
          name: "sim-metrics",
          portName: "metrics",
        }),
        slice("sim", 8000, [{ ip: "10.0.0.6", pod: "elsewhere" }], { name: "sim-b", namespace: "team-b" }),
      ],
      noStatic,
    );
    expect(state.endpoints.map((endpoint) => endpoint.id)).toEqual(["team-a/sim/ready"]);
  });

  it("lists a dual-stack pod once, over IPv4, and brackets IPv6 addresses", () => {
    const state = buildDiscoveredState(
      [md("sim", { model: { name: "sim", source: "hf://a/b" } })],
      [
        slice("sim", 8000, [{ ip: "fd00::1", pod: "pod-a" }, { ip: "fd00::2" }], {
          name: "sim-v6",
          addressType: "IPv6",
        }),
        slice("sim", 8000, [{ ip: "10.0.0.1", pod: "pod-a" }], { name: "sim-v4" }),
      ],
      noStatic,
    );
    expect(state.endpoints.map(({ id, url }) => ({ id, url }))).toEqual([
      { id: "team-a/sim/pod-a", url: "http://10.0.0.1:8000" },
      { id: "team-a/sim/[fd00::2]:8000", url: "http://[fd00::2]:8000" },
    ]);
  });

  it("reaches hand-made FQDN slices by name", () => {
    const state = buildDiscoveredState(
      [md("sim", { model: { name: "sim", source: "hf://a/b" } })],
      [slice("sim", 8000, [{ ip: "engine.example.com" }], { addressType: "FQDN" })],
      noStatic,
    );
    expect(state.endpoints.map(({ id, url }) => ({ id, url }))).toEqual([
      { id: "team-a/sim/engine.example.com:8000", url: "http://engine.example.com:8000" },
    ]);
  });

  it("skips an address that makes no usable URL, keeping the model's other replicas", () => {
    const state = buildDiscoveredState(
      [md("sim", { model: { name: "sim", source: "hf://a/b" } })],
      [
        slice("sim", 8000, [{ ip: "bad host" }], { addressType: "FQDN", name: "sim-fqdn" }),
        slice("sim", 8000, [{ ip: "10.0.0.9", pod: "sim-1" }], { name: "sim-ipv4" }),
      ],
      noStatic,
    );
    expect(state.endpoints.map(({ id }) => id)).toEqual(["team-a/sim/sim-1"]);
    expect(state.problems).toEqual([
      expect.stringMatching(/^ModelDeployment team-a\/sim: address http:\/\/bad host:8000 ignored \(/),
    ]);
  });

  it("drops deployments being deleted, and reports unreadable ones", () => {
    const state = buildDiscoveredState(
      [
        md(
          "gone",
          { model: { name: "gone", source: "hf://a/b" } },
          { deletionTimestamp: "2025-01-01T00:00:00Z" },
        ),
        md("broken", { model: { source: "hf://a/b" } }),
      ],
      [slice("gone", 8000, [{ ip: "10.0.0.1" }])],
      noStatic,
    );
    expect(state.endpoints).toEqual([]);
    expect(state.models.size).toBe(0);
    expect(state.problems).toEqual([
      expect.stringMatching(/^ModelDeployment team-a\/broken: ignored, unreadable \(spec\.model\.name: /),
    ]);
  });
});

describe("discovered routing settings", () => {
  const routing = {
    strategy: "least-load",
    tier: "small",
    aliases: ["chat", "default-chat"],
    fallbacks: ["large-model"],
    price: { inputPerMillion: 0.2, outputPerMillion: 0.6 },
  };

  it("reads strategy, tier, aliases, fallbacks and price per served model, and puts aliases on every endpoint", () => {
    const state = buildDiscoveredState(
      [md("small", { model: { name: "small-model", source: "hf://a/b" }, routing })],
      [slice("small", 8000, [{ ip: "10.0.0.1", pod: "p" }])],
      noStatic,
    );
    expect(state.models.get("small-model")).toEqual({
      model: "small-model",
      source: "team-a/small",
      adapters: [],
      ...routing,
    });
    expect(state.tiers).toEqual(new Map([["small", "small-model"]]));
    expect(state.endpoints[0]?.aliases).toEqual(["chat", "default-chat"]);
  });

  it("refuses names that would reach two models, keeping the earlier claimant and saying why", () => {
    const state = buildDiscoveredState(
      [
        md("a", {
          model: { name: "model-a", source: "hf://a/b" },
          routing: { aliases: ["chat", "model-b"], tier: "t" },
        }),
        md("b", {
          model: { name: "model-b", source: "hf://a/b" },
          routing: { aliases: ["chat", "configured"], tier: "t" },
          adapters: [{ name: "model-a", source: "hf://x/y" }],
        }),
      ],
      [],
      {
        endpointNames: new Map([["configured", { model: "other", kind: "alias" }]]),
        routingNames: new Set(),
      },
    );
    expect(state.models.get("model-a")?.aliases).toEqual(["chat"]);
    expect(state.models.get("model-b")?.aliases).toEqual([]);
    expect(state.models.get("model-b")?.tier).toBeUndefined();
    expect(state.problems).toEqual([
      'ModelDeployment team-a/a: alias "model-b" ignored, "model-b" is already the name of model "model-b" (team-a/b)',
      'ModelDeployment team-a/b: adapter "model-a" ignored, "model-a" is already the name of model "model-a" (team-a/a)',
      'ModelDeployment team-a/b: alias "chat" ignored, "chat" is already an alias of model "model-a" (team-a/a)',
      `ModelDeployment team-a/b: alias "configured" ignored, "configured" is already an alias of model "other" (the router's endpoints)`,
      'ModelDeployment team-a/b: tier "t" ignored, "t" is already a tier of model "model-a" (team-a/a)',
    ]);
  });

  it("takes a shared model's settings from the first deployment and reports a disagreement", () => {
    const state = buildDiscoveredState(
      [
        md("b-canary", {
          model: { name: "m", source: "hf://a/b" },
          routing: { strategy: "round-robin", aliases: ["x"] },
        }),
        md("a-main", {
          model: { name: "m", source: "hf://a/b" },
          routing: { strategy: "least-load", aliases: ["y"] },
        }),
      ],
      [
        slice("a-main", 8000, [{ ip: "10.0.0.1", pod: "main" }]),
        slice("b-canary", 8000, [{ ip: "10.0.0.2", pod: "canary" }]),
      ],
      noStatic,
    );
    expect(state.models.get("m")).toMatchObject({
      source: "team-a/a-main",
      strategy: "least-load",
      aliases: ["y", "x"],
    });
    expect(state.endpoints.map((endpoint) => endpoint.id)).toEqual([
      "team-a/a-main/main",
      "team-a/b-canary/canary",
    ]);
    expect(state.problems).toEqual([
      `ModelDeployment team-a/b-canary: serves model "m" like team-a/a-main but with other routing settings; team-a/a-main's apply`,
    ]);
  });

  it("ignores a tier the configured model routing defines and a strategy this router does not know", () => {
    const state = buildDiscoveredState(
      [
        md("a", {
          model: { name: "m", source: "hf://a/b" },
          routing: { tier: "large", strategy: "telepathy" },
        }),
      ],
      [],
      { endpointNames: new Map(), routingNames: new Set(["large"]) },
    );
    expect(state.models.get("m")).toMatchObject({ tier: undefined, strategy: undefined });
    expect(state.problems).toEqual([
      `ModelDeployment team-a/a: tier "large" is already defined by the router's model routing; that definition applies`,
      expect.stringMatching(
        /^ModelDeployment team-a\/a: unknown routing\.strategy "telepathy" \(known: .*least-load/,
      ),
    ]);
  });
});
