import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminToken,
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
} from "./admin-test-gateway.js";

interface Operation {
  summary: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: object } }> };
  responses: Record<string, unknown>;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe("the gateway's OpenAPI document", () => {
  let database: TestDatabase;
  let gateway: TestGateway;
  let document: Document;
  let apiKey: string;

  beforeAll(async () => {
    database = await startTestDatabase();
    gateway = await startTestGateway({ db: database.db });
    const tenant = (await (await gateway.admin("POST", "/tenants", { name: "openapi" })).json()) as {
      id: string;
    };
    const key = await gateway.admin("POST", "/keys", { name: "openapi", tenant_id: tenant.id });
    apiKey = ((await key.json()) as { secret: string }).secret;
    const response = await fetch(`${gateway.url}/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    document = (await response.json()) as Document;
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.close();
  });

  it("is a valid OpenAPI 3.1 document, served without a credential", async () => {
    expect(document.openapi).toBe("3.1.0");
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("describes bodies, parameters and credentials from the routes' own schemas", () => {
    const chat = document.paths["/v1/chat/completions"]!.post!;
    expect(chat.security).toEqual([{ apiKey: [] }]);
    expect(chat.requestBody!.content["application/json"]!.schema.required).toContain("messages");
    const createKey = document.paths["/admin/v1/keys"]!.post!;
    expect(createKey.security).toEqual([{ adminToken: [] }]);
    expect(Object.keys(createKey.responses)).toContain("201");
    const headers = (operation: Operation) =>
      operation.parameters
        ?.filter((parameter) => parameter.in === "header")
        .map((parameter) => parameter.name);
    expect(headers(createKey)).toEqual(["Idempotency-Key"]);
    expect(headers(chat)).toContain("x-strata-timeout-ms");
    expect(headers(chat)).toContain("x-strata-cache");
    expect(document.paths["/v1/jobs/{id}"]!.get!.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
    expect(document.paths["/admin/v1/usage"]!.get!.parameters!.map((parameter) => parameter.name)).toContain(
      "group_by",
    );
    expect(document.paths["/v1/files"]!.post!.requestBody!.content).toHaveProperty("multipart/form-data");
    expect(document.paths["/v1/openapi.json"]!.get!.security).toEqual([]);
  });

  it("lists only routes the gateway answers, each under its method", async () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        path,
        method: method.toUpperCase(),
        operation,
      })),
    );
    expect(operations.length).toBeGreaterThan(35);
    for (const { path, method, operation } of operations) {
      // A real credential: routes check it before they match the path.
      const credential = operation.security[0]?.adminToken ? adminToken : apiKey;
      const response = await fetch(gateway.url + path.replace(/\{[^}]+\}/g, "no-such-id"), {
        method,
        headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
        ...(method === "GET" || method === "DELETE" ? {} : { body: "{}" }),
      });
      const body = await response.text();
      // A route that did not exist would be a 404 "Invalid URL", or a 405 naming the methods it has.
      expect({ path, method, status: response.status }).not.toMatchObject({ status: 405 });
      expect(body, `${method} ${path}`).not.toContain("Invalid URL");
    }
  });
});
