/**
 * `pnpm crd:gen`: writes the ModelDeployment CRD, generated from the operator's schema, into the chart.
 * With `--check` it writes nothing and exits 1 when the file on disk is stale (CI uses `pnpm crd:check`,
 * which also catches a stale file through `git diff`).
 */
import { readFile, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { crdManifestPath, renderCrdManifest } from "./crd-manifest.js";

const wanted = renderCrdManifest();
const shown = relative(process.cwd(), crdManifestPath);
if (process.argv.includes("--check")) {
  const current = await readFile(crdManifestPath, "utf8").catch(() => "");
  if (current !== wanted) {
    process.stderr.write(`${shown} is stale: run pnpm crd:gen\n`);
    process.exit(1);
  }
  process.stdout.write(`${shown} is up to date\n`);
} else {
  await writeFile(crdManifestPath, wanted);
  process.stdout.write(`wrote ${shown}\n`);
}
