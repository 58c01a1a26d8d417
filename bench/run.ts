/**
 * `pnpm bench <name>` runs bench/<name>.ts. Each benchmark exports `main(): Promise<void>` and writes
 * its own results (bench/results/<name>.json and its section of bench/RESULTS.md).
 */
import { readdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

async function available(): Promise<string[]> {
  const files = await readdir(here);
  return files
    .filter((file) => file.endsWith(".ts") && file !== "run.ts")
    .map((file) => file.slice(0, -".ts".length))
    .sort();
}

const name = process.argv[2];
const names = await available();
if (!name || !names.includes(name)) {
  console.error(
    `${name ? `unknown benchmark "${name}"` : "which benchmark?"}; available: ${names.join(", ")}`,
  );
  console.error("usage: pnpm bench <name>");
  process.exit(2);
}
const benchmark = (await import(pathToFileURL(`${here}/${name}.ts`).href)) as { main(): Promise<void> };
await benchmark.main();
