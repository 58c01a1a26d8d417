import { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { endpoint, routerFixture } from "./support/router-fixture.js";

const models = {
  aliases: { smart: "auto" },
  tiers: { small: { model: "qwen-small", fallbacks: ["large"] }, large: { model: "llama-large" } },
  routes: {
    auto: {
      rules: [
        { name: "long", minPromptTokens: 1000, tier: "large" },
        { name: "vip", tenants: ["acme"], tier: "large" },
      ],
      default: "small",
    },
  },
};

describe("model routing inside Route", () => {
  const fixture = () =>
    routerFixture([endpoint("s1", "qwen-small"), endpoint("l1", "llama-large")], { models });
  const route = (
    router: ReturnType<typeof fixture>["router"],
    model: string,
    tenantId: string,
    promptTokens: number,
  ) => router.route({ requestId: `r-${Math.random()}`, model, tenantId, prompt: "user: hi\n", promptTokens });

  it("sends a virtual model to the tier its rules pick, with the reason and the fallback chain", () => {
    const { router } = fixture();
    const short = route(router, "auto", "t1", 10);
    expect(short.model).toBe("qwen-small");
    expect(short.endpoint?.id).toBe("s1");
    expect(short.fallbacks).toEqual(["llama-large"]);
    expect(short.modelReason).toMatch(/tier "small"/);
    const long = route(router, "smart", "t1", 5000);
    expect(long.model).toBe("llama-large");
    expect(long.modelReason).toMatch(/long/);
    expect(route(router, "auto", "acme", 10).model).toBe("llama-large");
  });

  it("passes served names through and refuses unknown ones", () => {
    const { router } = fixture();
    expect(route(router, "llama-large", "t1", 10).endpoint?.id).toBe("l1");
    expect(() => route(router, "gpt-9", "t1", 10)).toThrowError(StrataError);
  });
});
