import { expect } from "vitest";
import { runAdmin } from "../../src/commands/admin.js";

export type Json = any;

export interface StrataRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs admin command lines as the `strata` process would, capturing what they print. `env()` is read
 * per run (the platform's address and admin token are known only once it has started).
 */
export function strataRunner(env: () => Record<string, string | undefined>) {
  async function strata(line: string[], extraEnv = env()): Promise<StrataRun> {
    const out: string[] = [];
    const err: string[] = [];
    const [group, ...argv] = line;
    const code = await runAdmin(
      group as "tenants",
      argv,
      { stdout: (text) => out.push(text), stderr: (text) => err.push(text) },
      extraEnv,
    );
    return { code, stdout: out.join(""), stderr: err.join("") };
  }

  /** Runs a command with --json; it must succeed, and its output is parsed. */
  async function strataJson(line: string[]): Promise<Json> {
    const result = await strata([...line, "--json"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    return JSON.parse(result.stdout);
  }

  return { strata, strataJson };
}
