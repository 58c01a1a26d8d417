import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { freePort } from "@strata/kit/testing";
import { type ServerProcess, spawnServer } from "./server-process.js";

const packageJson = createRequire(import.meta.url).resolve("@portkey-ai/gateway/package.json");

/** The installed Portkey gateway's version, for the report. */
export const portkeyVersion = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;

/**
 * The Portkey gateway from npm, started the way its own `npx @portkey-ai/gateway` starts it (its
 * built Node server, Hono on @hono/node-server), headless and in production mode so it serves no
 * console UI. Requests name engine-sim as an OpenAI-compatible provider by custom host: Portkey then
 * forwards to the same replica the other contenders use.
 */
export async function startPortkey(engineUrl: string): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return spawnServer("portkey", {
    args: [join(dirname(packageJson), "build", "start-server.js"), `--port=${port}`, "--headless"],
    env: { NODE_ENV: "production" },
    url,
    healthUrl: `${url}/`,
    headers: {
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${engineUrl}/v1`,
      // Portkey passes it on as the provider's key; engine-sim ignores it.
      authorization: "Bearer sk-bench",
    },
  });
}
