import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const entry = fileURLToPath(new URL("./fixtures/entry.ts", import.meta.url));

describe("@strata/ts-runtime", () => {
  it("runs TypeScript sources without defining closure names at run time, and leaves no compiler running", async () => {
    const { stdout } = await run(process.execPath, ["--import", "@strata/ts-runtime/register", entry], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    expect(JSON.parse(stdout)).toEqual({
      // tsx (esbuild's keepNames) defines one per closure made: 3 here, one per request in a server.
      namesDefined: 0,
      // V8 names an arrow function after its binding by itself.
      names: ["closure", "closure", "closure"],
      counted: 3,
      // `./x.js` resolved to `./x.ts`, imports kept as written (verbatimModuleSyntax).
      sideEffect: true,
      // Stack traces point at the TypeScript line.
      failedAt: expect.stringMatching(/^closures\.ts:22:\d+$/),
      importMeta: true,
      // The compiler's child process is stopped once imports are done: it would wake a server
      // process every so often for as long as it runs.
      children: 0,
    });
  });
});
