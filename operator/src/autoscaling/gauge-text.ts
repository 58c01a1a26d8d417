/**
 * Sums the samples of named gauges in Prometheus text exposition. Engines expose hundreds of lines
 * (vLLM's histograms dominate) and the autoscaler needs two, so lines are skipped by name before any
 * label is read. Every sample of a family counts: an engine serving a base model and its adapters
 * reports one per `model_name`, and all of them load the same replica. A family the text does not
 * hold is absent from the result.
 */
export function sumGauges(text: string, names: readonly string[]): Map<string, number> {
  const wanted = new Set(names);
  const sums = new Map<string, number>();
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    const value = sampleValue(line, nameEnd);
    if (value === undefined) continue;
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

/** The value after the labels (a timestamp may follow it); undefined for a line it cannot read. */
function sampleValue(line: string, nameEnd: number): number | undefined {
  let rest = line.slice(nameEnd);
  if (rest.startsWith("{")) {
    const close = closingBrace(rest);
    if (close < 0) return undefined;
    rest = rest.slice(close + 1);
  }
  const value = Number(rest.trim().split(/\s+/)[0]);
  return Number.isFinite(value) ? value : undefined;
}

/** Index of the `}` ending the label set, skipping braces inside quoted label values. */
function closingBrace(text: string): number {
  let quoted = false;
  for (let index = 1; index < text.length; index++) {
    const character = text[index];
    if (quoted && character === "\\") index++;
    else if (character === '"') quoted = !quoted;
    else if (!quoted && character === "}") return index;
  }
  return -1;
}
