import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

export interface CpuProfile {
  /** Stops recording and writes the profile to `file` (open it in Chrome DevTools or speedscope). */
  stop(file: string): Promise<void>;
}

/** Starts recording a CPU profile of this process, sampling every 200 µs. */
export async function startCpuProfile(): Promise<CpuProfile> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return {
    async stop(file) {
      try {
        const { profile } = await session.post("Profiler.stop");
        await writeFile(file, JSON.stringify(profile));
      } finally {
        session.disconnect();
      }
    },
  };
}

/**
 * What a heap profile keeps: every allocation (what the hot path allocates), only what is still held
 * at the end, or what survived the young generation (promoted to old space: what makes scavenges slow,
 * whether or not a later full GC found it dead).
 */
export type HeapProfileKind = "heap" | "live-heap" | "promoted-heap";

/** Starts sampling allocations of this process (every 4 KiB on average); see HeapProfileKind. */
export async function startHeapProfile(kind: HeapProfileKind = "heap"): Promise<CpuProfile> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: kind !== "live-heap",
    includeObjectsCollectedByMinorGC: kind === "heap",
  });
  return {
    async stop(file) {
      try {
        const { profile } = await session.post("HeapProfiler.stopSampling");
        await writeFile(file, JSON.stringify(profile));
      } finally {
        session.disconnect();
      }
    },
  };
}
