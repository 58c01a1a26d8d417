import { describe, expect, it } from "vitest";
import { EndpointTable } from "../src/endpoints/endpoint-table.js";
import { endpoint, testPolicy } from "./support/router-fixture.js";

describe("endpoint table", () => {
  it("keeps a healthy engine routable when only its settings change", () => {
    const table = new EndpointTable([endpoint("a", "llama", { aliases: ["chat"] })], testPolicy);
    table.get("a")!.health.checkPassed();
    expect(table.get("a")!.health.routable).toBe(true);
    const before = table.get("a");

    table.replace([endpoint("a", "llama", { aliases: ["chat-next"] })]);
    expect(table.get("a")!.config.aliases).toEqual(["chat-next"]);
    expect(table.get("a")!.health.routable).toBe(true);
    // The same state object: health checks keyed by it keep their timer and in-flight probe.
    expect(table.get("a")).toBe(before);
  });

  it("starts an engine over when its address or model changes", () => {
    const table = new EndpointTable([endpoint("a", "llama"), endpoint("b", "llama")], testPolicy);
    for (const id of ["a", "b"]) table.get(id)!.health.checkPassed();

    table.replace([endpoint("a", "llama", { url: "http://elsewhere.test:8000" }), endpoint("b", "qwen")]);
    expect(table.get("a")!.health.routable).toBe(false);
    expect(table.get("b")!.health.routable).toBe(false);
  });
});
