import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../../", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-lazy-k8s-"));
  // Module hooks that fail any import of the Kubernetes client, registered after tsx's.
  await writeFile(
    join(dir, "hooks.mjs"),
    `export async function resolve(specifier, context, next) {
      if (specifier === "@kubernetes/client-node") throw new Error("imported @kubernetes/client-node from " + context.parentURL);
      return next(specifier, context);
    }`,
  );
  await writeFile(
    join(dir, "register.mjs"),
    `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});`,
  );
}, 30_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Imports a module in a fresh process whose imports of the Kubernetes client fail. */
async function importWithoutKubernetesClient(module: string): Promise<void> {
  const script = `await import(${JSON.stringify(pathToFileURL(join(repo, module)).href)});`;
  await run(
    process.execPath,
    ["--import", "tsx", "--import", join(dir, "register.mjs"), "--input-type=module", "-e", script],
    {
      cwd: repo,
      timeout: 60_000,
    },
  );
}

describe("the Kubernetes client", () => {
  // It costs a process about 130 MB and 0.8 s to load; only the router's Kubernetes discovery and the
  // operator use it, and the router loads it when discovery is enabled.
  it("is not loaded by the embedded platform (gateway, router, CLI) until discovery asks for it", async () => {
    await importWithoutKubernetesClient("packages/cli/src/index.ts");
    await importWithoutKubernetesClient("services/router/src/index.ts");
  }, 120_000);

  it("is caught when a module does load it", async () => {
    await expect(
      importWithoutKubernetesClient("services/router/src/discovery/kubernetes-discovery.ts"),
    ).rejects.toThrow(/imported @kubernetes\/client-node/);
  }, 120_000);
});
