import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { eventually, freePort } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThrowawayPlatform, type ThrowawayPlatform } from "../src/index.js";
import { type Json, strataRunner } from "./support/run-strata.js";

const repoRoot = resolve(import.meta.dirname, "../../..");

describe("the strata admin commands against a real local platform", () => {
  let platform: ThrowawayPlatform;
  let env: Record<string, string>;

  beforeAll(async () => {
    platform = await startThrowawayPlatform({
      prefix: "strata-cli-",
      settings: { engineReplicas: 1 },
      overrides: {
        routerHealthIntervalMs: 200,
        engine: { decodeMsPerToken: 1 },
        gateway: {
          http: { host: "127.0.0.1", port: 0 },
          // A usage event the ledger cannot write is dead-lettered in well under a second.
          usageLedger: { flushIntervalMs: 20, maxDeliveries: 2, backoffMs: [50] },
        },
      },
    });
    env = { STRATA_GATEWAY_URL: platform.gatewayUrl, STRATA_ADMIN_TOKEN: platform.adminToken };
  });
  afterAll(async () => {
    await platform?.close();
  });

  const { strata, strataJson } = strataRunner(() => env);

  function complete(secret: string, model = "strata-sim") {
    return fetch(`${platform.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model, max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
    });
  }

  it("lists a usage event the ledger could not write, and replays it once the cause is gone", async () => {
    const tenant = await strataJson(["tenants", "create", "dead-usage"]);
    const key = await strataJson(["keys", "create", "app", "--tenant", tenant.id]);
    // A rule of the ledger's table (of the test's making) that this tenant's usage breaks.
    const rule = "cli_refuses_dead_usage";
    await platform.database.query(
      `ALTER TABLE gateway.usage_ledger ADD CONSTRAINT ${rule} CHECK (tenant_id <> '${tenant.id}')`,
    );
    expect((await complete(key.secret)).status).toBe(200);
    let letters: Json[] = [];
    await eventually(
      async () => {
        letters = await strataJson(["dead-letters", "list", "--kind", "usage", "--tenant", tenant.id]);
        expect(letters).toHaveLength(1);
      },
      { timeoutMs: 20_000 },
    );
    expect(letters[0]).toMatchObject({
      kind: "usage",
      tenant_id: tenant.id,
      deliveries: 2,
      replayed_at: null,
    });
    const listed = await strata(["dead-letters", "list", "--tenant", tenant.id]);
    expect(listed.stdout).toMatch(
      new RegExp(`^ID\\s+KIND\\s+TENANT.*\n${letters[0].id}\\s+usage\\s+${tenant.id}`),
    );

    await platform.database.query(`ALTER TABLE gateway.usage_ledger DROP CONSTRAINT ${rule}`);
    const replayed = await strata(["dead-letters", "replay-all", "--kind", "usage", "--tenant", tenant.id]);
    expect(replayed).toMatchObject({ code: 0, stdout: "replayed 1, failed 0\n" });
    await eventually(async () => {
      const rows = await platform.database.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM gateway.usage_ledger WHERE tenant_id = $1",
        [tenant.id],
      );
      expect(rows.rows[0]!.n).toBe(1);
    });
    const again = await strata(["dead-letters", "replay", letters[0].id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("was already replayed");
    expect((await strata(["dead-letters", "list", "--kind", "jobs"])).code).toBe(64);
  }, 60_000);

  it("creates and lists tenants and projects, as tables and as JSON", async () => {
    const created = await strata([
      "tenants",
      "create",
      "acme",
      "--metadata",
      "team=ml",
      "--metadata",
      "tier=gold",
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+METADATA\n/);
    expect(created.stdout).toContain("team=ml,tier=gold");
    const tenants = await strataJson(["tenants", "list"]);
    const acme = tenants.find((tenant: Json) => tenant.name === "acme");
    expect(acme.metadata).toEqual({ team: "ml", tier: "gold" });
    expect((await strata(["tenants", "list"])).stdout).toContain(acme.id);

    const project = await strataJson(["projects", "create", "web", "--tenant", acme.id]);
    expect(project).toMatchObject({ object: "project", tenant_id: acme.id, name: "web" });
    const listed = await strata(["projects", "list", "--tenant", acme.id]);
    expect(listed.stdout).toMatch(new RegExp(`${project.id}\\s+${acme.id}\\s+web`));
    const again = await strata(["tenants", "create", "acme"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: A tenant named 'acme' already exists. (conflict, HTTP 409)\n");
  });

  it("creates a key whose secret is shown once and works; lists keys by prefix only", async () => {
    const tenant = await strataJson(["tenants", "create", "keys-team"]);
    const project = await strataJson(["projects", "create", "api", "--tenant", tenant.id]);
    const human = await strata([
      "keys",
      "create",
      "app",
      "--project",
      project.id,
      "--models",
      "strata-sim",
      "--expires-in",
      "1d",
    ]);
    expect(human.code).toBe(0);
    const secret = /\n {2}(sk-strata-\S+)\n/.exec(human.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(human.stdout).toContain("shown only this once");
    expect((await complete(secret!)).status).toBe(200);
    const denied = await complete(secret!, "another-model");
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as Json).error.message).toContain("'another-model'");

    const keys = await strataJson(["keys", "list", "--tenant", tenant.id]);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      project_id: project.id,
      allowed_models: ["strata-sim"],
      status: "active",
    });
    expect(Math.abs(keys[0].expires_at - (Date.now() / 1000 + 86_400))).toBeLessThan(120);
    const table = await strata(["keys", "list", "--tenant", tenant.id]);
    expect(table.stdout).toContain(keys[0].prefix);
    expect(table.stdout).not.toContain(secret!.slice(14));
  });

  it("rotates with a grace period, updates and revokes keys", async () => {
    const tenant = await strataJson(["tenants", "create", "rotation-team"]);
    const key = await strataJson(["keys", "create", "svc", "--tenant", tenant.id]);
    const rotated = await strata(["keys", "rotate", key.id, "--grace", "1h"]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(new RegExp(`The old key ${key.id} is valid until \\d{4}-`));
    const newSecret = /\n {2}(sk-strata-\S+)\n/.exec(rotated.stdout)![1]!;
    expect((await complete(key.secret)).status).toBe(200);
    expect((await complete(newSecret)).status).toBe(200);

    const newId = (await strataJson(["keys", "list", "--tenant", tenant.id])).find(
      (item: Json) => item.rotated_from === key.id,
    ).id;
    const updated = await strataJson(["keys", "update", newId, "--models", "x,y", "--name", "svc-2"]);
    expect(updated).toMatchObject({ name: "svc-2", allowed_models: ["x", "y"] });
    expect((await complete(newSecret)).status).toBe(403);
    expect((await strataJson(["keys", "update", newId, "--all-models"])).allowed_models).toBeNull();
    expect((await complete(newSecret)).status).toBe(200);

    const revoked = await strata(["keys", "revoke", key.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("revoked");
    const refused = await complete(key.secret);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as Json).error.message).toContain("revoked");
  });

  it("exits non-zero with a clear message on every kind of failure", async () => {
    const wrongToken = await strata(["tenants", "list"], {
      ...env,
      STRATA_ADMIN_TOKEN: "not-the-admin-token",
    });
    expect(wrongToken).toMatchObject({
      code: 1,
      stderr: "error: Incorrect admin token provided. (invalid_api_key, HTTP 401)\n",
    });
    const missing = await strata(["keys", "get", "key_missing"]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: "error: No API key with id 'key_missing'. (not_found, HTTP 404)\n",
    });
    const invalid = await strata([
      "keys",
      "create",
      "k",
      "--tenant",
      "ten_x",
      "--expires-at",
      "2001-01-01T00:00:00Z",
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("must be in the future");

    const down = await strata(["tenants", "list"], {
      ...env,
      STRATA_GATEWAY_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

    const noTenant = await strata(["keys", "create", "k"]);
    expect(noTenant).toMatchObject({ code: 64 });
    expect(noTenant.stderr).toContain("missing --tenant <id> or --project <id>");
    expect(noTenant.stderr).toContain("usage: strata keys create");
    const unknownFlag = await strata(["tenants", "list", "--colour", "red"]);
    expect(unknownFlag.code).toBe(64);
    expect(unknownFlag.stderr).toContain("--colour");
    expect((await strata(["keys", "explode"])).code).toBe(64);
    expect((await strata(["keys", "rotate", "k", "--grace", "soon"])).stderr).toContain(
      "--grace takes a duration",
    );

    const emptyHome = await mkdtemp(join(tmpdir(), "strata-cli-empty-"));
    const noToken = await strata(["tenants", "list"], {
      STRATA_GATEWAY_URL: platform.gatewayUrl,
      STRATA_HOME: emptyHome,
    });
    expect(noToken.code).toBe(78);
    expect(noToken.stderr).toContain("no admin token");
    await rm(emptyHome, { recursive: true });
    const badUrl = await strata(["tenants", "list"], { ...env, STRATA_GATEWAY_URL: "not a url" });
    expect(badUrl).toMatchObject({ code: 78 });
    expect(badUrl.stderr).toContain("--gateway-url or STRATA_GATEWAY_URL");
  });

  it("finds the local run's admin token beside its dev API key", async () => {
    const result = await strata(["tenants", "list", "--json"], {
      STRATA_GATEWAY_URL: platform.gatewayUrl,
      STRATA_HOME: platform.home,
    });
    expect(result.code).toBe(0);
    expect(platform.adminTokenFile).toBe(join(platform.home, "admin-token"));
    expect(JSON.parse(result.stdout).some((tenant: Json) => tenant.name === "dev")).toBe(true);
  });

  it("reports usage by provider and operation from the ledger", async () => {
    const tenant = await strataJson(["tenants", "create", "usage-team"]);
    const key = await strataJson(["keys", "create", "reporter", "--tenant", tenant.id]);
    expect((await complete(key.secret)).status).toBe(200);
    const embedded = await fetch(`${platform.gatewayUrl}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "strata-local-embed-v1", input: "count me" }),
    });
    expect(embedded.status).toBe(200);
    const line = ["usage", "report", "--group-by", "provider,operation", "--tenant", tenant.id];
    let report: Json;
    await eventually(
      async () => {
        report = await strataJson(line);
        expect(report.totals.requests).toBe(2);
      },
      { timeoutMs: 15_000 },
    );
    expect(report.data.map((row: Json) => [row.provider, row.operation, row.requests])).toEqual([
      ["engine", "chat.completions", 1],
      ["local", "embeddings", 1],
    ]);
    const table = await strata(line);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /PROVIDER\s+OPERATION\s+REQUESTS\s+ERRORS\s+PROMPT\s+COMPLETION\s+COST USD\n/,
    );
    expect(table.stdout).toMatch(/\nlocal\s+embeddings\s+1\s+0\s+\d+\s+0\s+0\.000000\n/);
    expect(table.stdout).toMatch(/\nTOTAL\s+2\s+0\s/);
    const bad = await strata(["usage", "report", "--group-by", "colour"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("group_by");
  });

  it("works as the `strata` process, exit codes included", async () => {
    const run = promisify(execFile);
    const tsx = join(repoRoot, "node_modules/.bin/tsx");
    const main = join(repoRoot, "packages/cli/src/main.ts");
    const ok = await run(tsx, [main, "keys", "list", "--json", "--gateway-url", platform.gatewayUrl], {
      env: { ...process.env, STRATA_ADMIN_TOKEN: platform.adminToken },
    });
    expect(JSON.parse(ok.stdout).length).toBeGreaterThan(0);
    const failed = await run(
      tsx,
      [main, "keys", "revoke", "key_missing", "--gateway-url", platform.gatewayUrl],
      {
        env: { ...process.env, STRATA_ADMIN_TOKEN: platform.adminToken },
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain("No API key with id 'key_missing'");
  });
});
