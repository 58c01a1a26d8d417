/**
 * A gateway in its own process: the platform as `pnpm start` boots it (PGlite, in-process bus, the
 * gateway with its dev API key), except that the gateway asks the router process named by the parent
 * instead of the router `startLocal` runs beside it. That in-process router has no endpoints and
 * nobody calls it. The parent forks this file, sends `{ routerAddress }` and gets `{ url, apiKey }`
 * back; SIGTERM (or the IPC channel closing) shuts it down.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, localConfigSchema, startLocal } from "@strata/cli";
import { silentLogger } from "@strata/kit";

export interface GatewayStart {
  routerAddress: string;
}

export interface GatewayReady {
  url: string;
  apiKey: string;
}

async function boot(start: GatewayStart): Promise<{ platform: LocalPlatform; home: string }> {
  const home = await mkdtemp(join(tmpdir(), "strata-bench-gateway-"));
  const config = localConfigSchema.parse({
    home,
    gatewayPort: 0,
    gatewayGrpcPort: 0,
    routerPort: 0,
    engineReplicas: 0,
    logLevel: "silent",
  });
  const platform = await startLocal(config, silentLogger(), {
    gateway: { http: { host: "127.0.0.1", port: 0 }, routerAddress: start.routerAddress },
  });
  return { platform, home };
}

process.once("message", (start: GatewayStart) => {
  boot(start).then(
    ({ platform, home }) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        platform
          .close()
          .then(() => rm(home, { recursive: true, force: true }))
          .finally(() => process.exit(0));
      };
      process.on("SIGTERM", stop);
      process.on("disconnect", stop);
      const ready: GatewayReady = { url: platform.gatewayUrl, apiKey: platform.apiKey };
      process.send?.({ ready });
    },
    (error: unknown) => {
      process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
});
