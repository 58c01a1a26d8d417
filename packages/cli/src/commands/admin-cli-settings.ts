import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, type EnvMapping, fromEnv, parseConfig } from "@strata/kit";
import { z } from "zod";

/** Where the admin commands find the gateway and its admin token: flags first, then the environment. */
export const adminCliSettingsSchema = z
  .object({
    gatewayUrl: z
      .string()
      .url("must be a URL such as http://127.0.0.1:8080")
      .default("http://127.0.0.1:8080"),
    adminToken: z.string().min(1).optional(),
    /** The local run's folder; its admin-token file is the last place a token is looked for. */
    home: z.string().min(1).default(".strata"),
  })
  .strict();

export type AdminCliSettings = z.output<typeof adminCliSettingsSchema> & { adminToken: string };

export const adminCliEnv: EnvMapping = {
  gatewayUrl: "STRATA_GATEWAY_URL",
  adminToken: "STRATA_ADMIN_TOKEN",
  home: "STRATA_HOME",
};

/** The local runner keeps its admin token here, beside the dev API key. */
export const adminTokenFileName = "admin-token";

export async function resolveAdminCliSettings(
  flags: { "gateway-url"?: string | undefined; "admin-token"?: string | undefined },
  env: Record<string, string | undefined>,
): Promise<AdminCliSettings> {
  const raw = fromEnv(env, adminCliEnv);
  if (flags["gateway-url"]) raw.gatewayUrl = flags["gateway-url"];
  if (flags["admin-token"]) raw.adminToken = flags["admin-token"];
  const settings = parseConfig(adminCliSettingsSchema, raw, {
    gatewayUrl: "--gateway-url or STRATA_GATEWAY_URL",
    adminToken: "--admin-token or STRATA_ADMIN_TOKEN",
    home: "STRATA_HOME",
  });
  const adminToken = settings.adminToken ?? (await tokenFromFile(join(settings.home, adminTokenFileName)));
  if (!adminToken)
    throw new ConfigError([
      `no admin token: pass --admin-token, set STRATA_ADMIN_TOKEN, or run \`strata up\` (it writes ${join(settings.home, adminTokenFileName)})`,
    ]);
  return { ...settings, adminToken };
}

async function tokenFromFile(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError([`cannot read the admin token from ${path}: ${(error as Error).message}`]);
  }
}
