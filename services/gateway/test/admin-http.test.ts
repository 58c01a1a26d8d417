import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminToken,
  probeKey,
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
  unixNow,
} from "./admin-test-gateway.js";

type Json = any;

let sequence = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${++sequence}`;

// One database for the file: both gateways below migrate it and share it, as replicas would.
let database: TestDatabase;
beforeAll(async () => {
  database = await startTestDatabase();
});
afterAll(() => database?.close());

describe("the admin HTTP API", () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ db: database.db });
  });
  afterAll(() => gateway?.close());

  async function json(response: Response, status: number): Promise<Json> {
    const body = await response.json();
    expect({ status: response.status, body }).toMatchObject({ status });
    return body;
  }

  async function newTenant(): Promise<Json> {
    return json(await gateway.admin("POST", "/tenants", { name: unique("tenant") }), 201);
  }

  async function newKey(body: Json): Promise<Json> {
    return json(await gateway.admin("POST", "/keys", { name: unique("key"), ...body }), 201);
  }

  describe("the admin credential", () => {
    it("refuses a call without a token with 401", async () => {
      const response = await fetch(`${gateway.url}/admin/v1/tenants`);
      const body = await json(response, 401);
      expect(body.error).toMatchObject({ code: "invalid_api_key", type: "authentication_error" });
      expect(body.error.message).toContain("admin token");
    });

    it("refuses a wrong token with 401", async () => {
      const body = await json(
        await gateway.admin("GET", "/tenants", undefined, { authorization: `Bearer ${adminToken}x` }),
        401,
      );
      expect(body.error.message).toBe("Incorrect admin token provided.");
    });

    it("refuses a tenant's API key with 403", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id });
      const body = await json(
        await gateway.admin("GET", "/tenants", undefined, { authorization: `Bearer ${key.secret}` }),
        403,
      );
      expect(body.error.code).toBe("permission_denied");
      expect(body.error.message).toContain("API keys cannot use the admin API");
    });

    it("checks the credential before routing, so unknown paths are hidden from strangers", async () => {
      expect((await fetch(`${gateway.url}/admin/v1/nothing-here`)).status).toBe(401);
      const body = await json(await gateway.admin("GET", "/nothing-here"), 404);
      expect(body.error.message).toContain("/admin/v1/nothing-here");
      const wrongMethod = await json(await gateway.admin("DELETE", "/tenants"), 405);
      expect(wrongMethod.error.message).toContain("use POST or GET");
    });
  });

  describe("tenants", () => {
    it("creates, gets and lists tenants with metadata", async () => {
      const name = unique("acme");
      const created = await json(
        await gateway.admin("POST", "/tenants", { name, metadata: { team: "research" } }),
        201,
      );
      expect(created).toMatchObject({ object: "tenant", name, metadata: { team: "research" } });
      expect(created.id).toMatch(/^ten_/);
      expect(Math.abs(created.created_at - unixNow())).toBeLessThan(60);
      expect(await json(await gateway.admin("GET", `/tenants/${created.id}`), 200)).toEqual(created);
      const listed = await json(await gateway.admin("GET", "/tenants?limit=1000"), 200);
      expect(listed.object).toBe("list");
      expect(listed.data).toContainEqual(created);
    });

    it("pages through tenants in creation order", async () => {
      const made = [await newTenant(), await newTenant(), await newTenant()];
      const first = await json(await gateway.admin("GET", `/tenants?limit=2&after=${made[0].id}`), 200);
      expect(first.data.map((tenant: Json) => tenant.id)).toEqual([made[1].id, made[2].id]);
      expect(first.last_id).toBe(made[2].id);
      const rest = await json(await gateway.admin("GET", `/tenants?limit=1000&after=${made[2].id}`), 200);
      expect(rest.data.map((tenant: Json) => tenant.id)).not.toContain(made[0].id);
      expect(rest.has_more).toBe(false);
    });

    it("refuses a duplicate name with 409 and bad input with a 400 naming the field", async () => {
      const tenant = await newTenant();
      const duplicate = await json(await gateway.admin("POST", "/tenants", { name: tenant.name }), 409);
      expect(duplicate.error).toMatchObject({ code: "conflict", param: "name" });
      const missing = await json(await gateway.admin("POST", "/tenants", {}), 400);
      expect(missing.error).toMatchObject({ message: "Missing required parameter: 'name'.", param: "name" });
      const unknown = await json(await gateway.admin("POST", "/tenants", { name: "x", colour: "red" }), 400);
      expect(unknown.error.message).toContain("'colour'");
      const tooMuch = Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, "v"]));
      const metadata = await json(
        await gateway.admin("POST", "/tenants", { name: "y", metadata: tooMuch }),
        400,
      );
      expect(metadata.error).toMatchObject({ param: "metadata" });
      expect(metadata.error.message).toContain("at most 16 keys");
      const notJson = await json(await gateway.admin("POST", "/tenants", "{nope"), 400);
      expect(notJson.error.message).toContain("could not parse the JSON body");
      const limit = await json(await gateway.admin("GET", "/tenants?limit=0"), 400);
      expect(limit.error.param).toBe("limit");
      const unknownAfter = await json(await gateway.admin("GET", "/tenants?after=ten_missing"), 400);
      expect(unknownAfter.error.param).toBe("after");
      await json(await gateway.admin("GET", "/tenants/ten_missing"), 404);
    });

    it("creates once per Idempotency-Key and refuses the key for a different request", async () => {
      const name = unique("retry");
      const headers = { "idempotency-key": unique("idem") };
      const first = await gateway.admin("POST", "/tenants", { name }, headers);
      const firstBody = await json(first, 201);
      const retry = await gateway.admin("POST", "/tenants", { name }, headers);
      expect(await json(retry, 201)).toEqual(firstBody);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(first.headers.get("idempotent-replayed")).toBeNull();
      const other = await json(
        await gateway.admin("POST", "/tenants", { name: unique("other") }, headers),
        409,
      );
      expect(other.error.param).toBe("Idempotency-Key");
    });
  });

  describe("projects", () => {
    it("creates projects inside a tenant and lists them by tenant", async () => {
      const tenant = await newTenant();
      const other = await newTenant();
      const project = await json(
        await gateway.admin("POST", "/projects", { tenant_id: tenant.id, name: "search" }),
        201,
      );
      expect(project).toMatchObject({ object: "project", tenant_id: tenant.id, name: "search" });
      await json(await gateway.admin("POST", "/projects", { tenant_id: other.id, name: "search" }), 201);
      const duplicate = await json(
        await gateway.admin("POST", "/projects", { tenant_id: tenant.id, name: "search" }),
        409,
      );
      expect(duplicate.error.message).toContain("already has a project named 'search'");
      const listed = await json(await gateway.admin("GET", `/projects?tenant_id=${tenant.id}`), 200);
      expect(listed.data).toEqual([project]);
      expect(await json(await gateway.admin("GET", `/projects/${project.id}`), 200)).toEqual(project);
      const noTenant = await json(
        await gateway.admin("POST", "/projects", { tenant_id: "ten_missing", name: "x" }),
        404,
      );
      expect(noTenant.error).toMatchObject({
        param: "tenant_id",
        message: "No tenant with id 'ten_missing'.",
      });
    });
  });

  describe("API keys", () => {
    it("shows the secret once, stores only a hash, and lists keys by prefix", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id, metadata: { owner: "ana" } });
      expect(key.secret).toMatch(/^sk-strata-/);
      expect(key).toMatchObject({
        object: "api_key",
        tenant_id: tenant.id,
        project_id: null,
        status: "active",
        allowed_models: null,
        metadata: { owner: "ana" },
        prefix: key.secret.slice(0, 14),
      });
      const got = await json(await gateway.admin("GET", `/keys/${key.id}`), 200);
      expect(got.secret).toBeUndefined();
      const listed = await json(await gateway.admin("GET", `/keys?tenant_id=${tenant.id}`), 200);
      expect(listed.data).toHaveLength(1);
      expect(JSON.stringify(listed)).not.toContain(key.secret);
      const stored = await database.db.query("SELECT * FROM gateway.api_keys WHERE id = $1", [key.id]);
      expect(JSON.stringify(stored.rows[0])).not.toContain(key.secret.slice(14));
      expect((await probeKey(gateway.url, key.secret)).status).toBe(400);
    });

    it("gives the request-time context: project, allowed models, metadata, expiry", async () => {
      const tenant = await newTenant();
      const project = await json(
        await gateway.admin("POST", "/projects", { tenant_id: tenant.id, name: "p" }),
        201,
      );
      const expiresAt = unixNow() + 3600;
      const key = await newKey({
        project_id: project.id,
        allowed_models: ["strata-sim", "strata-sim"],
        metadata: { env: "prod" },
        expires_at: expiresAt,
      });
      expect(key).toMatchObject({
        tenant_id: tenant.id,
        project_id: project.id,
        allowed_models: ["strata-sim"],
      });
      const auth = await gateway.gateway.keys.authenticate(`Bearer ${key.secret}`);
      expect(auth).toEqual({
        tenantId: tenant.id,
        apiKeyId: key.id,
        projectId: project.id,
        allowedModels: ["strata-sim"],
        metadata: { env: "prod" },
        expiresAt: expiresAt * 1000,
      });
    });

    it("refuses bad key settings with a 400 naming the field", async () => {
      const tenant = await newTenant();
      const other = await newTenant();
      const project = await json(
        await gateway.admin("POST", "/projects", { tenant_id: tenant.id, name: "p" }),
        201,
      );
      const cases: [Json, string, string][] = [
        [{ name: "k" }, "tenant_id", "Missing required parameter"],
        [{ name: "k", tenant_id: tenant.id, allowed_models: [] }, "allowed_models", "at least one model"],
        [
          { name: "k", tenant_id: tenant.id, expires_at: unixNow() - 10 },
          "expires_at",
          "must be in the future",
        ],
        [{ name: "k", tenant_id: tenant.id, expires_at: 1.5 }, "expires_at", "whole number"],
        [{ name: "k", tenant_id: other.id, project_id: project.id }, "project_id", "belongs to tenant"],
        [{ name: "", tenant_id: tenant.id }, "name", "must not be empty"],
      ];
      for (const [body, param, message] of cases) {
        const answer = await json(await gateway.admin("POST", "/keys", body), 400);
        expect(answer.error.param).toBe(param);
        expect(answer.error.message).toContain(message);
      }
      const missingProject = await json(
        await gateway.admin("POST", "/keys", { name: "k", project_id: "proj_x" }),
        404,
      );
      expect(missingProject.error.param).toBe("project_id");
    });

    it("never creates a second key on an Idempotency-Key retry, and says why it cannot show the secret", async () => {
      const tenant = await newTenant();
      const headers = { "idempotency-key": unique("idem") };
      const body = { tenant_id: tenant.id, name: "ci" };
      const first = await json(await gateway.admin("POST", "/keys", body, headers), 201);
      const retry = await json(await gateway.admin("POST", "/keys", body, headers), 409);
      expect(retry.error.message).toContain(first.id);
      expect(retry.error.message).toContain("shown only once");
      const listed = await json(await gateway.admin("GET", `/keys?tenant_id=${tenant.id}`), 200);
      expect(listed.data).toHaveLength(1);
    });

    it("updates allowed models, metadata and expiry, effective at once", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id });
      await gateway.gateway.keys.authenticate(`Bearer ${key.secret}`); // cached now
      const updated = await json(
        await gateway.admin("PATCH", `/keys/${key.id}`, { allowed_models: ["a"], metadata: { x: "1" } }),
        200,
      );
      expect(updated).toMatchObject({ allowed_models: ["a"], metadata: { x: "1" } });
      expect((await gateway.gateway.keys.authenticate(`Bearer ${key.secret}`)).allowedModels).toEqual(["a"]);
      const cleared = await json(
        await gateway.admin("PATCH", `/keys/${key.id}`, { allowed_models: null }),
        200,
      );
      expect(cleared.allowed_models).toBeNull();
      expect((await gateway.gateway.keys.authenticate(`Bearer ${key.secret}`)).allowedModels).toBeUndefined();
      await json(await gateway.admin("PATCH", "/keys/key_missing", { name: "x" }), 404);
    });

    it("refuses an expired key with a message that says it expired", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id, expires_at: unixNow() + 2 });
      expect((await probeKey(gateway.url, key.secret)).status).toBe(400);
      await eventually(
        async () => {
          const probe = await probeKey(gateway.url, key.secret);
          expect(probe.status).toBe(401);
          expect(probe.message).toMatch(/expired at \d{4}-\d{2}-\d{2}T/);
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      const got = await json(await gateway.admin("GET", `/keys/${key.id}`), 200);
      expect(got.status).toBe("expired");
    });

    it("revokes a key at once; revoking again changes nothing", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id });
      expect((await probeKey(gateway.url, key.secret)).status).toBe(400);
      const revoked = await json(await gateway.admin("POST", `/keys/${key.id}/revoke`), 200);
      expect(revoked.status).toBe("revoked");
      const probe = await probeKey(gateway.url, key.secret);
      expect(probe).toMatchObject({ status: 401 });
      expect(probe.message).toContain("has been revoked");
      const again = await json(await gateway.admin("POST", `/keys/${key.id}/revoke`), 200);
      expect(again.revoked_at).toBe(revoked.revoked_at);
      await json(await gateway.admin("POST", "/keys/key_missing/revoke"), 404);
    });

    it("rotates: a new secret with the same settings; the old key works through the grace period only", async () => {
      const tenant = await newTenant();
      const old = await newKey({ tenant_id: tenant.id, allowed_models: ["m1"], metadata: { a: "b" } });
      const rotated = await json(
        await gateway.admin("POST", `/keys/${old.id}/rotate`, { grace_period_seconds: 2 }),
        201,
      );
      expect(rotated.secret).not.toBe(old.secret);
      expect(rotated).toMatchObject({
        rotated_from: old.id,
        allowed_models: ["m1"],
        metadata: { a: "b" },
        status: "active",
      });
      expect(rotated.previous).toMatchObject({ id: old.id, status: "rotating" });
      expect((await probeKey(gateway.url, rotated.secret)).status).toBe(400);
      expect((await probeKey(gateway.url, old.secret)).status).toBe(400);
      await eventually(async () => expect((await probeKey(gateway.url, old.secret)).status).toBe(401), {
        timeoutMs: 15_000,
        intervalMs: 250,
      });
      expect((await probeKey(gateway.url, rotated.secret)).status).toBe(400);
      const twice = await json(await gateway.admin("POST", `/keys/${old.id}/rotate`), 409);
      expect(twice.error).toMatchObject({ code: "failed_precondition" });
      expect(twice.error.message).toContain("is revoked");
    });

    it("rotates without a grace period, and refuses to rotate a key twice", async () => {
      const tenant = await newTenant();
      const old = await newKey({ tenant_id: tenant.id });
      const headers = { "idempotency-key": unique("rot") };
      const rotated = await json(
        await gateway.admin("POST", `/keys/${old.id}/rotate`, undefined, headers),
        201,
      );
      expect(rotated.previous.status).toBe("revoked");
      expect((await probeKey(gateway.url, old.secret)).status).toBe(401);
      const retry = await json(
        await gateway.admin("POST", `/keys/${old.id}/rotate`, undefined, headers),
        409,
      );
      expect(retry.error.message).toContain(rotated.id);

      const graceful = await newKey({ tenant_id: tenant.id });
      const next = await json(
        await gateway.admin("POST", `/keys/${graceful.id}/rotate`, { grace_period_seconds: 600 }),
        201,
      );
      const again = await json(await gateway.admin("POST", `/keys/${graceful.id}/rotate`), 409);
      expect(again.error.message).toContain(`already rotated into '${next.id}'`);
      const tooLong = await json(
        await gateway.admin("POST", `/keys/${next.id}/rotate`, { grace_period_seconds: 10_000_000 }),
        400,
      );
      expect(tooLong.error.param).toBe("grace_period_seconds");
    });

    it("records when a key was last used", async () => {
      const tenant = await newTenant();
      const key = await newKey({ tenant_id: tenant.id });
      expect(key.last_used_at).toBeNull();
      await probeKey(gateway.url, key.secret);
      await gateway.gateway.keys.close(); // writes the pending batch now instead of after the interval
      const got = await json(await gateway.admin("GET", `/keys/${key.id}`), 200);
      expect(Math.abs(got.last_used_at - unixNow())).toBeLessThan(60);
    });
  });
});

describe("a gateway without an admin token", () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({ db: database.db, adminToken: undefined });
  });
  afterAll(() => gateway?.close());

  it("keeps the admin API disabled and says how to enable it", async () => {
    const response = await gateway.admin("GET", "/tenants");
    expect(response.status).toBe(403);
    const body = (await response.json()) as Json;
    expect(body.error.code).toBe("permission_denied");
    expect(body.error.message).toContain("admin API is disabled");
    expect(body.error.message).toContain("GATEWAY_ADMIN_TOKEN");
  });
});
