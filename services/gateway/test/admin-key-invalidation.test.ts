import { type Bus, connectDatabase, createNatsBus, type Database, silentLogger } from "@strata/kit";
import {
  eventually,
  findPostgresBinDir,
  type NativePostgresHandle,
  type NatsServerHandle,
  startNativePostgres,
  startNatsServer,
} from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  probeKey,
  startTestDatabase,
  startTestGateway,
  type TestDatabase,
  type TestGateway,
} from "./admin-test-gateway.js";

type Json = any;

/** Long enough that only the broadcast can explain a replica refusing a key during the test. */
const cacheTtlMs = 10 * 60_000;

describe("key changes reach every gateway replica through NATS, well before the cache expires", () => {
  let nats: NatsServerHandle;
  let postgres: NativePostgresHandle | undefined;
  let embedded: TestDatabase | undefined;
  const pools: Database[] = [];
  const buses: Bus[] = [];
  let a: TestGateway;
  let b: TestGateway;
  /** Shares the database but not NATS: shows what the cache alone would still allow. */
  let isolated: TestGateway;

  async function database(): Promise<Database> {
    const pool = postgres ? await connectDatabase({ url: postgres.url }) : await embedded!.connect();
    pools.push(pool);
    return pool;
  }

  async function natsBus(name: string): Promise<Bus> {
    const bus = await createNatsBus({ url: nats.url, name, logger: silentLogger() });
    buses.push(bus);
    return bus;
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    // CI installs Debian's postgresql; elsewhere an embedded PGlite serves both replicas.
    if (await findPostgresBinDir()) postgres = await startNativePostgres();
    else embedded = await startTestDatabase();
    a = await startTestGateway({
      db: await database(),
      bus: await natsBus("gateway-a"),
      keyCacheTtlMs: cacheTtlMs,
    });
    b = await startTestGateway({
      db: await database(),
      bus: await natsBus("gateway-b"),
      keyCacheTtlMs: cacheTtlMs,
    });
    isolated = await startTestGateway({ db: await database(), keyCacheTtlMs: cacheTtlMs });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), isolated?.close()]);
    await Promise.all(buses.map((bus) => bus.close()));
    await Promise.all(pools.map((pool) => pool.close()));
    await embedded?.close();
    await postgres?.stop();
    await nats?.stop();
  });

  async function adminJson(response: Response, status: number): Promise<Json> {
    const body = await response.json();
    expect({ status: response.status, body }).toMatchObject({ status });
    return body;
  }

  /** A new key, already cached as valid by every replica. */
  async function cachedEverywhere(): Promise<Json> {
    const tenant = await adminJson(await a.admin("POST", "/tenants", { name: `t-${Math.random()}` }), 201);
    const key = await adminJson(await a.admin("POST", "/keys", { tenant_id: tenant.id, name: "k" }), 201);
    for (const gateway of [a, b, isolated])
      expect((await probeKey(gateway.url, key.secret)).status).toBe(400);
    return key;
  }

  it("revoke on A: B refuses the key at once", async () => {
    const key = await cachedEverywhere();
    const revokedAt = Date.now();
    await adminJson(await a.admin("POST", `/keys/${key.id}/revoke`), 200);
    expect((await probeKey(a.url, key.secret)).status).toBe(401);
    await eventually(
      async () => {
        const probe = await probeKey(b.url, key.secret);
        expect(probe.status).toBe(401);
        expect(probe.message).toContain("has been revoked");
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(Date.now() - revokedAt).toBeLessThan(cacheTtlMs / 10);
    // Without the broadcast the cached entry would still be trusted.
    expect((await probeKey(isolated.url, key.secret)).status).toBe(400);
  });

  it("rotate on B without grace: A refuses the old key and accepts the new one", async () => {
    const key = await cachedEverywhere();
    const rotated = await adminJson(await b.admin("POST", `/keys/${key.id}/rotate`), 201);
    await eventually(async () => expect((await probeKey(a.url, key.secret)).status).toBe(401), {
      timeoutMs: 10_000,
    });
    expect((await probeKey(a.url, rotated.secret)).status).toBe(400);
    expect((await probeKey(isolated.url, key.secret)).status).toBe(400);
  });

  it("pages a list one item at a time without repeating or skipping (timestamps compared in SQL)", async () => {
    const made: string[] = [];
    for (let index = 0; index < 4; index++)
      made.push(
        (await adminJson(await a.admin("POST", "/tenants", { name: `page-${Math.random()}` }), 201)).id,
      );
    const seen: string[] = [];
    let after = made[0];
    for (;;) {
      const page = await adminJson(await b.admin("GET", `/tenants?limit=1&after=${after}`), 200);
      seen.push(...page.data.map((tenant: Json) => tenant.id));
      if (!page.has_more) break;
      after = page.last_id;
    }
    expect(seen.filter((id) => made.includes(id))).toEqual(made.slice(1));
  });

  it("a settings change on A (allowed models, expiry) is what B sees next", async () => {
    const key = await cachedEverywhere();
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await adminJson(
      await a.admin("PATCH", `/keys/${key.id}`, { allowed_models: ["only-this"], expires_at: expiresAt }),
      200,
    );
    await eventually(
      async () => {
        const auth = await b.gateway.keys.authenticate(`Bearer ${key.secret}`);
        expect(auth.allowedModels).toEqual(["only-this"]);
        expect(auth.expiresAt).toBe(expiresAt * 1000);
      },
      { timeoutMs: 10_000 },
    );
    expect((await isolated.gateway.keys.authenticate(`Bearer ${key.secret}`)).allowedModels).toBeUndefined();
  });
});
