/** Process entry: parse flags/env → start the simulator → shut down cleanly on SIGINT/SIGTERM. */
import { ConfigError, loadEngineSimOptions, startEngineSim } from "./index.js";

async function main(): Promise<void> {
  let options: ReturnType<typeof loadEngineSimOptions>;
  try {
    options = loadEngineSimOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`engine-sim: ${error.message}\n`);
    process.exit(2);
  }
  const engine = await startEngineSim(options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`engine-sim: ${signal} received, shutting down\n`);
    engine.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`engine-sim: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`engine-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
