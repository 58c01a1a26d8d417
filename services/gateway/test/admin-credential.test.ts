import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, StrataError } from "@strata/kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminCredential, loadAdminTokenDigest } from "../src/admin/admin-credential.js";
import { ApiKeyCache, type KeyRecord } from "../src/auth/api-key-cache.js";
import { loadGatewayConfig } from "../src/config.js";

const token = "a-very-secret-admin-token";
const baseEnv = { GATEWAY_KEY_HASH_SECRET: "0123456789abcdef0123" };

async function refusal(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(StrataError);
  return error as StrataError;
}

describe("the admin credential's configuration", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-admin-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("is disabled when no form is set", async () => {
    const config = loadGatewayConfig(baseEnv);
    expect(await loadAdminTokenDigest(config.admin)).toBeUndefined();
  });

  it("accepts the token, its SHA-256, or a file holding it, and all verify the same token", async () => {
    const file = join(dir, "token");
    await writeFile(file, `${token}\n`);
    const sha = createHash("sha256").update(token).digest("hex");
    for (const env of [
      { GATEWAY_ADMIN_TOKEN: token },
      { GATEWAY_ADMIN_TOKEN_SHA256: sha },
      { GATEWAY_ADMIN_TOKEN_FILE: file },
    ]) {
      const config = loadGatewayConfig({ ...baseEnv, ...env });
      const credential = new AdminCredential({ tokenSha256: await loadAdminTokenDigest(config.admin) });
      await expect(credential.verify(`Bearer ${token}`)).resolves.toBeUndefined();
      expect((await refusal(credential.verify(`Bearer ${token}x`))).code).toBe("invalid_api_key");
    }
  });

  it("refuses more than one form, a short token and an unreadable file, naming the setting", async () => {
    expect(() =>
      loadGatewayConfig({ ...baseEnv, GATEWAY_ADMIN_TOKEN: token, GATEWAY_ADMIN_TOKEN_FILE: "/x" }),
    ).toThrow(/set only one of GATEWAY_ADMIN_TOKEN, GATEWAY_ADMIN_TOKEN_FILE and GATEWAY_ADMIN_TOKEN_SHA256/);
    expect(() => loadGatewayConfig({ ...baseEnv, GATEWAY_ADMIN_TOKEN: "short" })).toThrow(
      /GATEWAY_ADMIN_TOKEN \(admin.token\): must be at least 16 characters/,
    );
    expect(() => loadGatewayConfig({ ...baseEnv, GATEWAY_ADMIN_TOKEN_SHA256: "abc" })).toThrow(
      /GATEWAY_ADMIN_TOKEN_SHA256/,
    );
    const missing = loadGatewayConfig({ ...baseEnv, GATEWAY_ADMIN_TOKEN_FILE: join(dir, "missing") });
    await expect(loadAdminTokenDigest(missing.admin)).rejects.toThrow(ConfigError);
    const shortFile = join(dir, "short");
    await writeFile(shortFile, "tiny\n");
    const short = loadGatewayConfig({ ...baseEnv, GATEWAY_ADMIN_TOKEN_FILE: shortFile });
    await expect(loadAdminTokenDigest(short.admin)).rejects.toThrow(/at least 16 characters/);
  });
});

describe("AdminCredential.verify", () => {
  const digest = createHash("sha256").update(token).digest();

  it("tells a missing token, a wrong one, a tenant's key and a disabled admin API apart", async () => {
    const credential = new AdminCredential({
      tokenSha256: digest,
      isApiKey: async (secret) => secret === "sk-strata-tenant-key",
    });
    expect((await refusal(credential.verify(undefined))).message).toContain("didn't provide an admin token");
    expect((await refusal(credential.verify("Basic abc"))).code).toBe("invalid_api_key");
    expect((await refusal(credential.verify(`Bearer ${token.slice(0, -1)}`))).code).toBe("invalid_api_key");
    expect((await refusal(credential.verify("Bearer sk-strata-tenant-key"))).code).toBe("permission_denied");
    const disabled = await refusal(new AdminCredential({ tokenSha256: undefined }).verify(`Bearer ${token}`));
    expect(disabled.code).toBe("permission_denied");
    expect(disabled.message).toContain("disabled");
  });
});

describe("ApiKeyCache", () => {
  const record = (apiKeyId: string): KeyRecord => ({
    auth: {
      tenantId: "ten_1",
      apiKeyId,
      projectId: undefined,
      allowedModels: undefined,
      metadata: {},
      expiresAt: undefined,
    },
    revokedAt: undefined,
  });

  it("drops an entry by key id and expires entries by time", () => {
    const cache = new ApiKeyCache(10);
    cache.set("secret-a", record("key_a"), 1_000, cache.currentGeneration);
    cache.set("secret-b", record("key_b"), 1_000, cache.currentGeneration);
    expect(cache.get("secret-a", 500)?.record?.auth.apiKeyId).toBe("key_a");
    cache.drop("key_a");
    expect(cache.get("secret-a", 500)).toBeUndefined();
    expect(cache.get("secret-b", 500)).toBeDefined();
    expect(cache.get("secret-b", 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("does not keep a lookup that started before a drop (it may have read the old row)", () => {
    const cache = new ApiKeyCache(10);
    const generation = cache.currentGeneration;
    cache.drop("key_a"); // a revocation arrives while the lookup is in flight
    cache.set("secret-a", record("key_a"), 1_000, generation);
    expect(cache.get("secret-a", 0)).toBeUndefined();
  });

  it("evicts the oldest entry when full", () => {
    const cache = new ApiKeyCache(2);
    for (const name of ["a", "b", "c"])
      cache.set(`secret-${name}`, record(`key_${name}`), 1_000, cache.currentGeneration);
    expect(cache.size).toBe(2);
    expect(cache.get("secret-a", 0)).toBeUndefined();
    expect(cache.get("secret-c", 0)).toBeDefined();
    cache.drop("key_a"); // its index entry went with it
    expect(cache.get("secret-b", 0)).toBeDefined();
  });
});
