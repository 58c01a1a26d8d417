import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chown, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { findBinary, isExecutable } from "./find-binary.js";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

export interface NativePostgresHandle {
  /** postgres://postgres@127.0.0.1:<port>/postgres, trust authentication. */
  url: string;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/** Directory holding `initdb` and `postgres`: PATH first, then Debian's versioned install dirs. */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const debianDirs: string[] = [];
  try {
    const versions = await readdir("/usr/lib/postgresql");
    versions.sort((a, b) => Number(b) - Number(a)); // newest first
    for (const version of versions) debianDirs.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    // not a Debian-style install
  }
  for (const dir of debianDirs) {
    if (await isExecutable(join(dir, "postgres"))) return dir;
  }
  const initdb = await findBinary("initdb");
  if (!initdb) return undefined;
  const { stdout } = await run("readlink", ["-f", initdb]);
  return stdout.trim().replace(/\/initdb$/, "");
}

/**
 * Starts a throwaway native Postgres (initdb into a temp dir, `postgres` on a free port, fsync off).
 * Postgres refuses to run as root, so under root the server runs as the `postgres` user the
 * Debian package creates.
 */
export async function startNativePostgres(): Promise<NativePostgresHandle> {
  const binDir = await findPostgresBinDir();
  if (!binDir) {
    throw new Error(
      "initdb/postgres not found: install Postgres (Debian/Ubuntu: `apt-get install -y postgresql`; add `postgresql-15-pgvector` for pgvector)",
    );
  }
  const user = await runAsUser();
  const baseDir = await mkdtemp(join(tmpdir(), "strata-pg-"));
  const dataDir = join(baseDir, "data");
  if (user) await chown(baseDir, user.uid, user.gid);
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    await run(
      join(binDir, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
      {
        ...user,
      },
    );
    const output: string[] = [];
    child = spawn(
      join(binDir, "postgres"),
      [
        "-D",
        dataDir,
        "-p",
        String(port),
        "-k",
        baseDir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
      ],
      { ...user, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitUntilAccepting(url, child, output);
    const started = child;
    return {
      url,
      stop: async () => {
        await stopProcess(started);
        await rm(baseDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child) await stopProcess(child);
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
}

async function runAsUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    return { uid, gid };
  } catch {
    throw new Error(
      "running as root, and there is no `postgres` user to run the server as (Postgres refuses root)",
    );
  }
}

async function waitUntilAccepting(url: string, child: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited during start-up:\n${output.join("")}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline)
        throw new Error(`postgres did not accept connections:\n${output.join("")}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGINT"); // Postgres "fast" shutdown: roll back sessions, exit promptly
  });
}
