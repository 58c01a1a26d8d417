import { readFile } from "node:fs/promises";

/** CPU time a process used so far, in microseconds (from /proc, Linux). */
export async function processCpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields 14 and 15 (utime, stime) in clock ticks, counted after the command name in parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / 100;
}

export interface ProcessMemory {
  /** Resident set size now, in MiB. */
  rssMb: number;
  /** Highest resident set size the process has had, in MiB. */
  peakRssMb: number;
}

/** Resident memory of a process (VmRSS and VmHWM from /proc, Linux): heap, code, buffers, WebAssembly, all of it. */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: kib("VmRSS") / 1024, peakRssMb: kib("VmHWM") / 1024 };
}
