import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

/**
 * With BENCH_CPU_PROFILE set, records a CPU profile of this (the server) process while `work` runs and
 * writes it to `file` (open it in Chrome DevTools or speedscope). Otherwise just runs `work`.
 */
export async function profiled<T>(file: string, work: () => Promise<T>): Promise<T> {
  if (!process.env.BENCH_CPU_PROFILE) return work();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`[bench] CPU profile written to ${file}`);
  }
}
