import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));

const intro = `# Benchmark results

Each benchmark in \`bench/\` measures Strata against a baseline **in the same run, on the same machine**
and reports ratios, so numbers from different machines can be compared by their ratios, not their
absolute values (see \`bench/README.md\`). Every section below is rewritten by the command named in it;
the machine-readable numbers are in \`bench/results/<name>.json\`.
`;

/** Where and when a run happened, for the JSON and the table heading. */
export function environment() {
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "services", "packages"], {
      encoding: "utf8",
    });
    if (dirty) commit += " (+ uncommitted changes)";
  } catch {
    // not a git checkout: the rest of the record still stands
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: cpu[0]?.model.trim() ?? "unknown",
    cpuCount: cpu.length,
    commit,
  };
}

export async function writeJson(name: string, data: unknown): Promise<string> {
  const file = join(benchDir, "results", `${name}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** The current contents of bench/results/<name>.json, or undefined when there is none yet. */
export async function readJson(name: string): Promise<unknown> {
  const file = join(benchDir, "results", `${name}.json`);
  return existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : undefined;
}

/** Replaces this benchmark's section of RESULTS.md (between its markers), keeping every other one. */
export async function updateResultsMarkdown(name: string, section: string): Promise<string> {
  const file = join(benchDir, "RESULTS.md");
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${section.trim()}\n${end}`;
  const current = existsSync(file) ? await readFile(file, "utf8") : intro;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + block + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  await writeFile(file, next);
  // Biome formats Markdown too (aligned tables); formatting here keeps `pnpm lint` clean after a run.
  try {
    execFileSync(join(benchDir, "..", "node_modules", ".bin", "biome"), ["format", "--write", file], {
      stdio: "ignore",
    });
  } catch {
    console.warn(`could not format ${file}; run \`pnpm format\``);
  }
  return file;
}
