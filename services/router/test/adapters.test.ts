import { routerV1 } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { endpoint, routerFixture } from "./support/router-fixture.js";

let nextId = 0;
const route = (router: ReturnType<typeof routerFixture>["router"], model: string) =>
  router.route({ requestId: `req-${++nextId}`, model, tenantId: "t", prompt: "hello", promptTokens: 0 });

describe("LoRA adapters", () => {
  const endpoints = () => [
    endpoint("plain", "llama"),
    endpoint("sql-1", "llama", { adapters: ["sql-lora"] }),
    endpoint("sql-2", "llama", { adapters: ["sql-lora", "chat-lora"] }),
    endpoint("other", "qwen"),
  ];

  it("routes an adapter only to endpoints serving it and sends the adapter's name upstream", () => {
    const { router } = routerFixture(endpoints());
    const chosen = new Set<string>();
    for (let index = 0; index < 6; index++) {
      const routed = route(router, "sql-lora");
      chosen.add(routed.endpoint!.id!);
      expect(routed.endpoint!.servedModel).toBe("sql-lora");
      expect(routed.model).toBe("sql-lora");
      const plain = routed.candidates!.find((candidate) => candidate.endpointId === "plain")!;
      expect(plain).toMatchObject({ eligible: false, reason: "does not serve adapter sql-lora" });
      expect(routed.candidates!.find((candidate) => candidate.endpointId === "other")!.reason).toBe(
        "serves qwen, not llama",
      );
    }
    expect([...chosen].sort()).toEqual(["sql-1", "sql-2"]);
    expect(route(router, "chat-lora").endpoint!.id).toBe("sql-2");
    // The base model still reaches every endpoint of the model, adapters or not.
    const base = new Set(Array.from({ length: 6 }, () => route(router, "llama").endpoint!.id!));
    expect(base.has("plain")).toBe(true);
    expect(route(router, "llama").endpoint!.servedModel).toBe("llama");
  });

  it("fails with no_healthy_upstream naming the adapter when none of its endpoints is healthy", () => {
    const { router, state } = routerFixture(endpoints());
    state("sql-2").health.checkFailed("down");
    state("sql-2").health.checkFailed("down");
    expect(() => route(router, "chat-lora")).toThrow(
      /no healthy endpoint for model "chat-lora" \(0 of 1 healthy\)/,
    );
    expect(route(router, "sql-lora").endpoint!.id).toBe("sql-1");
  });

  it("lists adapters as models, with the endpoints serving them, and lets tiers name them", () => {
    const { router } = routerFixture(endpoints(), { models: { tiers: { analyst: { model: "sql-lora" } } } });
    const listed = router.listModels().map((model) => [model.id, model.endpoints, model.healthyEndpoints]);
    expect(listed).toEqual([
      ["llama", 3, 3],
      ["qwen", 1, 1],
      ["chat-lora", 1, 1],
      ["sql-lora", 2, 2],
    ]);
    const routed = route(router, "analyst");
    expect(routed.endpoint!.servedModel).toBe("sql-lora");
    expect(routed.modelReason).toBe('tier "analyst"');
  });

  it("reports against the adapter's endpoint keep its base model's strategy state", () => {
    const { router, inFlight } = routerFixture(endpoints());
    const routed = router.route({
      requestId: "lora-1",
      model: "sql-lora",
      tenantId: "t",
      prompt: "",
      promptTokens: 0,
    });
    expect(inFlight.count(routed.endpoint!.id!)).toBe(1);
    router.report({
      requestId: "lora-1",
      endpointId: routed.endpoint!.id!,
      outcome: routerV1.Outcome.SUCCESS,
    });
    expect(inFlight.count(routed.endpoint!.id!)).toBe(0);
  });
});
