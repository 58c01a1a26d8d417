import { execFile } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findBinary } from "@strata/kit/testing";

/** Where scripts/install-test-tools.sh builds Go tools such as grpcurl. */
export const toolsDir = process.env.STRATA_TOOLS_DIR ?? join(homedir(), ".cache", "strata-tools", "bin");

export async function grpcurl(): Promise<((...args: string[]) => Promise<string>) | undefined> {
  const binary = await findBinary("grpcurl", [toolsDir]);
  if (!binary) return undefined;
  return async (...args) => (await promisify(execFile)(binary, args)).stdout;
}
