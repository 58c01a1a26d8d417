import { createGrpcClient, type ServiceClient, StrataError } from "@strata/kit";
import { gatewayV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../support/local-stack.js";
import { grpcurl } from "../support/tools.js";

describe("the gateway's gRPC API", () => {
  let stack: TestStack;
  let client: ServiceClient<typeof gatewayV1.GatewayService>;
  const auth = () => ({ metadata: { authorization: `Bearer ${stack.apiKey}` } });

  beforeAll(async () => {
    stack = await startTestStack({ engine: { decodeMsPerToken: 1 } });
    client = createGrpcClient(gatewayV1.GatewayService, stack.gatewayGrpcAddress);
  });
  afterAll(async () => {
    client.close();
    await stack.close();
  });

  it("answers a unary chat completion with usage and the route", async () => {
    const answer = await client.createChatCompletion(
      {
        model: "strata-sim",
        messages: [{ role: "user", content: "hello over gRPC" }],
        params: { maxTokens: 6 },
      },
      auth(),
    );
    expect(answer.choices[0]?.message?.content.length).toBeGreaterThan(0);
    expect(answer.usage?.completionTokens).toBeGreaterThan(0);
    expect(answer.usage?.completionTokens).toBeLessThanOrEqual(6);
    expect(answer.route).toMatch(/^endpoint=sim-\d/);
  });

  it("streams chat chunks, the last one carrying usage", async () => {
    const chunks = [];
    for await (const chunk of client.streamChatCompletion(
      {
        model: "strata-sim",
        messages: [{ role: "user", content: "stream over gRPC" }],
        params: { maxTokens: 6 },
      },
      auth(),
    )) {
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("").length).toBeGreaterThan(0);
    expect(chunks.at(-1)?.usage?.promptTokens).toBeGreaterThan(0);
  });

  it("serves completions and lists models", async () => {
    const answer = await client.createCompletion(
      { model: "strata-sim", prompt: "Once", params: { maxTokens: 3 } },
      auth(),
    );
    expect(answer.choices[0]?.text.length).toBeGreaterThan(0);
    const models = await client.listModels({}, auth());
    expect(models.data.map((model) => model.id)).toContain("strata-sim");
  });

  it("maps errors to precise status codes", async () => {
    const unauthenticated = (await client.listModels({}).catch((error: unknown) => error)) as StrataError;
    expect(unauthenticated).toBeInstanceOf(StrataError);
    expect(unauthenticated.grpcStatus).toBe(16);
    const notFound = (await client
      .createChatCompletion({ model: "nope", messages: [{ role: "user", content: "x" }] }, auth())
      .catch((error: unknown) => error)) as StrataError;
    expect(notFound.code).toBe("model_not_found");
    expect(notFound.grpcStatus).toBe(5);
    const invalid = (await client
      .createChatCompletion({ model: "strata-sim", messages: [{ role: "wizard", content: "x" }] }, auth())
      .catch((error: unknown) => error)) as StrataError;
    expect(invalid.grpcStatus).toBe(3);
    expect(invalid.param).toBe("messages[0].role");
  });

  it("works with grpcurl through reflection, health included", async (context) => {
    const run = await grpcurl();
    if (!run) return context.skip("grpcurl not built: run scripts/install-test-tools.sh");
    const services = await run("-plaintext", stack.gatewayGrpcAddress, "list");
    expect(services.split("\n")).toEqual(
      expect.arrayContaining(["grpc.health.v1.Health", "strata.gateway.v1.GatewayService"]),
    );
    expect(await run("-plaintext", stack.gatewayGrpcAddress, "grpc.health.v1.Health/Check")).toContain(
      '"SERVING"',
    );
    expect(
      await run("-plaintext", stack.routerAddress, "describe", "strata.router.v1.RouterService"),
    ).toContain("rpc Route");
    const answer = await run(
      "-plaintext",
      "-H",
      `authorization: Bearer ${stack.apiKey}`,
      "-d",
      '{"model":"strata-sim","messages":[{"role":"user","content":"hi"}],"params":{"maxTokens":3}}',
      stack.gatewayGrpcAddress,
      "strata.gateway.v1.GatewayService/CreateChatCompletion",
    );
    expect(JSON.parse(answer).choices[0].message.role).toBe("assistant");
  });
});
