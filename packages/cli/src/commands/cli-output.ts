/** Where a command writes; tests pass their own to read what a user would see. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Columns padded to their widest cell, as `kubectl get` prints them. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** Unix seconds as "2025-05-01 12:30Z"; "-" for none. */
export function when(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "-";
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")}Z`;
}

export function metadataText(metadata: Record<string, string> | undefined): string {
  const entries = Object.entries(metadata ?? {});
  return entries.length === 0 ? "-" : entries.map(([key, value]) => `${key}=${value}`).join(",");
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
