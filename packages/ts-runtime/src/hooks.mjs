// Module hooks that run TypeScript sources as they are, one file at a time, the way tsx does, but
// without esbuild's keepNames. keepNames (always on in tsx) wraps every named function expression
// in a call that defines its `name` at run time, closures created per request included: 2-9% of
// the CPU per request in the gateway's benchmark at concurrency 1. Files keep their paths, so
// import.meta.url and the files beside a module stay where the code expects them.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { stop, transform } from "esbuild";

const target = `node${process.versions.node}`;
// The settings of the repository's tsconfig.json that change what esbuild emits: imports kept as
// written (only `import type` goes), and class fields with define semantics (ES2022 and later).
const tsconfigRaw = { compilerOptions: { verbatimModuleSyntax: true, target: "ES2023" } };

/** TypeScript sources import each other by their emitted name (`./x.js`); the file is `./x.ts`. */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTs = context.parentURL?.endsWith(".ts") && /^\.\.?\//.test(specifier);
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !fromTs || !specifier.endsWith(".js")) throw error;
    return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
  }
}

// esbuild compiles in a child process that stays up and pings this thread now and then to check it
// is still wanted: a serving process must not keep it. It is stopped once imports have been quiet
// for a moment; a later import starts it again.
const idleStopMs = 200;
let idleStop;
let compiling = 0;

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !(url.endsWith(".ts") || url.endsWith(".mts")))
    return nextLoad(url, context);
  clearTimeout(idleStop);
  compiling++;
  try {
    const file = fileURLToPath(url);
    const { code } = await transform(await readFile(file, "utf8"), {
      loader: "ts",
      format: "esm",
      target,
      sourcemap: "inline",
      sourcefile: file,
      tsconfigRaw,
    });
    return { format: "module", source: code, shortCircuit: true };
  } finally {
    if (--compiling === 0) {
      idleStop = setTimeout(stop, idleStopMs);
      idleStop.unref();
    }
  }
}
