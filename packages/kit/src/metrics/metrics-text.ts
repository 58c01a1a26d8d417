/** One sample of a Prometheus text-format metric: its labels and value. */
export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/**
 * Reads only the named families from Prometheus text exposition. Engines expose hundreds of lines
 * (vLLM's histograms dominate), and we need a handful, so lines are skipped by name before any label
 * parsing; malformed lines are ignored rather than failing the whole scrape.
 */
export function parseMetricsText(text: string, wanted: ReadonlySet<string>): Map<string, MetricSample[]> {
  const families = new Map<string, MetricSample[]>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === "" || line.startsWith("#")) continue;
    const nameEnd = firstIndexOf(line, "{ \t");
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    const sample = parseSample(line, nameEnd);
    if (!sample) continue;
    const samples = families.get(name);
    if (samples) samples.push(sample);
    else families.set(name, [sample]);
  }
  return families;
}

function firstIndexOf(line: string, characters: string): number {
  for (let index = 0; index < line.length; index++) {
    if (characters.includes(line[index]!)) return index;
  }
  return -1;
}

function parseSample(line: string, nameEnd: number): MetricSample | undefined {
  let rest = nameEnd;
  let labels: Record<string, string> = {};
  if (line[nameEnd] === "{") {
    const parsed = parseLabels(line, nameEnd + 1);
    if (!parsed) return undefined;
    labels = parsed.labels;
    rest = parsed.end;
  }
  // After the value an optional timestamp may follow; it is not needed.
  const fields = line.slice(rest).trim().split(/\s+/);
  const value = parseValue(fields[0] ?? "");
  return value === undefined ? undefined : { labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === "") return undefined;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) && text !== "NaN" ? undefined : value;
}

/** Parses `name="value",...}` starting after the `{`; returns the index after the closing `}`. */
function parseLabels(
  line: string,
  from: number,
): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let index = from;
  while (index < line.length) {
    while (line[index] === " " || line[index] === ",") index++;
    if (line[index] === "}") return { labels, end: index + 1 };
    const equals = line.indexOf("=", index);
    if (equals === -1 || line[equals + 1] !== '"') return undefined;
    const key = line.slice(index, equals).trim();
    const value = readQuoted(line, equals + 2);
    if (!value || key === "") return undefined;
    labels[key] = value.text;
    index = value.end;
  }
  return undefined;
}

/** Reads a label value up to its closing quote, undoing the format's three escapes. */
function readQuoted(line: string, from: number): { text: string; end: number } | undefined {
  let text = "";
  for (let index = from; index < line.length; index++) {
    const character = line[index]!;
    if (character === '"') return { text, end: index + 1 };
    if (character === "\\") {
      const next = line[++index];
      text += next === "n" ? "\n" : (next ?? "");
    } else {
      text += character;
    }
  }
  return undefined;
}
