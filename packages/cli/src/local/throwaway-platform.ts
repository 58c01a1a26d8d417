import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, silentLogger } from "@strata/kit";
import { localConfigSchema } from "./local-config.js";
import { type LocalOverrides, type LocalPlatform, startLocal } from "./start-local.js";

export interface ThrowawayPlatformOptions {
  /** Local settings by name (as `localConfigSchema` spells them), over free ports and silent logs. */
  settings?: Record<string, unknown>;
  overrides?: LocalOverrides;
  logger?: Logger;
  /** Start of the temporary home folder's name. */
  prefix?: string;
}

export interface ThrowawayPlatform extends LocalPlatform {
  /** The temporary home folder (embedded database, dev API key, secrets); removed by close(). */
  home: string;
}

/**
 * The whole platform as `strata up` starts it, on free ports and in a fresh temporary home that
 * close() removes: how tests and benchmarks boot it, so neither keeps its own copy of the recipe.
 */
export async function startThrowawayPlatform(
  options: ThrowawayPlatformOptions = {},
): Promise<ThrowawayPlatform> {
  const home = await mkdtemp(join(tmpdir(), options.prefix ?? "strata-"));
  try {
    const config = localConfigSchema.parse({
      home,
      gatewayPort: 0,
      gatewayGrpcPort: 0,
      routerPort: 0,
      enginePort: 0,
      logLevel: "silent",
      ...options.settings,
    });
    const platform = await startLocal(config, options.logger ?? silentLogger(), options.overrides);
    return {
      ...platform,
      home,
      async close() {
        try {
          await platform.close();
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}
