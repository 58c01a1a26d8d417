import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** Absolute path of an executable found on PATH or in `extraDirs`, or undefined. */
export async function findBinary(
  name: string,
  extraDirs: readonly string[] = [],
): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
