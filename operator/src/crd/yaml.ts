/**
 * Writes JSON-shaped data as block YAML for manifests people read: mappings and sequences indented by
 * two, short lists of words in flow style, and strings quoted (JSON-style, which YAML reads the same)
 * whenever a plain scalar could be read as something else. Same input, same bytes, so a generated file
 * can be checked for staleness with `git diff`.
 */

const lineWidth = 110;
// A letter, `_` or `/` first (or a dot before a letter: `.spec.replicas`, never `.5`), then word characters.
const plain = /^(?:[A-Za-z_/]|\.[A-Za-z])[\w ./()+=-]*$/;
const reserved = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

export function toYaml(value: unknown): string {
  if (!isMapping(value)) throw new Error("toYaml expects an object at the top level");
  return `${mappingLines(value, 0).join("\n")}\n`;
}

function mappingLines(mapping: Record<string, unknown>, indent: number): string[] {
  const pad = " ".repeat(indent);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(mapping)) {
    const head = `${pad}${scalar(key)}:`;
    const inline = inlineForm(value, head.length + 1);
    if (inline !== undefined) lines.push(`${head} ${inline}`);
    else if (Array.isArray(value)) lines.push(head, ...sequenceLines(value, indent + 2));
    else lines.push(head, ...mappingLines(value as Record<string, unknown>, indent + 2));
  }
  return lines;
}

function sequenceLines(items: readonly unknown[], indent: number): string[] {
  const pad = " ".repeat(indent);
  const lines: string[] = [];
  for (const item of items) {
    const inline = inlineForm(item, indent + 2);
    if (inline !== undefined) {
      lines.push(`${pad}- ${inline}`);
      continue;
    }
    const nested = Array.isArray(item)
      ? sequenceLines(item, indent + 2)
      : mappingLines(item as Record<string, unknown>, indent + 2);
    // The first line of the nested block moves up behind the dash.
    lines.push(`${pad}- ${nested[0]!.trimStart()}`, ...nested.slice(1));
  }
  return lines;
}

/** The value on the same line as its key or dash, or undefined when it needs a block of its own. */
function inlineForm(value: unknown, column: number): string | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (!value.every((item) => typeof item === "string" && plain.test(item) && !reserved.test(item)))
      return undefined;
    const flow = `[${value.join(", ")}]`;
    return column + flow.length <= lineWidth ? flow : undefined;
  }
  if (isMapping(value)) return Object.keys(value).length === 0 ? "{}" : undefined;
  return scalar(value);
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} in a manifest`);
    return String(value);
  }
  if (typeof value === "boolean") return String(value);
  if (typeof value !== "string") throw new Error(`cannot write a ${typeof value} in a manifest`);
  const safe = plain.test(value) && !reserved.test(value) && !value.endsWith(" ");
  if (safe) return value;
  // As Biome's YAML formatter prefers: single quotes when they need fewer escapes. Control characters
  // can only be written escaped, which takes double quotes.
  const doubles = value.split('"').length - 1;
  const singles = value.split("'").length - 1;
  const control = [...value].some((character) => character.charCodeAt(0) < 0x20);
  if (doubles > singles && !control) return `'${value.replaceAll("'", "''")}'`;
  return JSON.stringify(value);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
