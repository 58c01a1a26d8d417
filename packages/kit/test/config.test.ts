import { describe, expect, it } from "vitest";
import { z } from "zod";
import { boolSetting, ConfigError, loadConfig, redactConfig } from "../src/index.js";

const schema = z
  .object({
    port: z.coerce.number().int().max(65535).default(8080),
    database: z.object({ url: z.string().url() }).strict(),
  })
  .strict();
const mapping = { port: "APP_PORT", "database.url": "DATABASE_URL" };

describe("configuration", () => {
  it("builds nested settings from the environment, with coercion and defaults", () => {
    expect(loadConfig(schema, mapping, { DATABASE_URL: "postgres://x/db" })).toEqual({
      port: 8080,
      database: { url: "postgres://x/db" },
    });
    expect(loadConfig(schema, mapping, { APP_PORT: "9000", DATABASE_URL: "postgres://x/db" }).port).toBe(
      9000,
    );
  });

  it("names every bad setting by its variable", () => {
    let error: unknown;
    try {
      loadConfig(schema, mapping, { APP_PORT: "99999", DATABASE_URL: "not a url" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(2);
    expect((error as Error).message).toMatch(/APP_PORT \(port\): /);
    expect((error as Error).message).toMatch(/DATABASE_URL \(database\.url\): /);
  });

  it("redacts secrets and URL passwords before logging", () => {
    expect(redactConfig({ keyHashSecret: "s3cret", databaseUrl: "postgres://u:pw@h/db", port: 1 })).toEqual({
      keyHashSecret: "[redacted]",
      databaseUrl: "postgres://u:redacted@h/db",
      port: 1,
    });
  });

  it("reads on/off settings from the usual words, and rejects others", () => {
    const flag = boolSetting();
    for (const word of ["true", " 1", "YES", "on "]) expect(flag.parse(word)).toBe(true);
    for (const word of ["false", "0", "No", "OFF"]) expect(flag.parse(word)).toBe(false);
    expect(flag.parse(true)).toBe(true);
    expect(flag.safeParse("maybe").success).toBe(false);
    expect(flag.safeParse("").success).toBe(false);
  });
});
