/**
 * A JSON document that satisfies a JSON schema, built from seeded randomness: what an engine's
 * guided decoding (vLLM's structured outputs, TGI's grammar) guarantees the shape of. Covers the
 * schema keywords tool parameters and response formats use in practice; anything else gets null.
 */
import { randomWords } from "./random-text.js";

type Schema = Record<string, unknown>;

export function jsonFromSchema(schema: unknown, random: () => number, depth = 0): unknown {
  if (!schema || typeof schema !== "object" || depth > 6) return null;
  const node = schema as Schema;
  if ("const" in node) return node.const;
  if (Array.isArray(node.enum) && node.enum.length > 0)
    return node.enum[Math.floor(random() * node.enum.length)];
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = node[key];
    if (Array.isArray(options) && options.length > 0) return jsonFromSchema(options[0], random, depth + 1);
  }
  const type = Array.isArray(node.type) ? node.type.find((entry) => entry !== "null") : node.type;
  switch (type) {
    case "object":
      return objectFrom(node, random, depth);
    case "array": {
      const count = Math.max(1, Number(node.minItems) || 1);
      return Array.from({ length: count }, () => jsonFromSchema(node.items ?? {}, random, depth + 1));
    }
    case "string":
      return randomWords(random, 2 + Math.floor(random() * 3)).trim();
    case "integer":
      return Math.floor(random() * 100);
    case "number":
      return Math.round(random() * 10_000) / 100;
    case "boolean":
      return random() < 0.5;
    case "null":
      return null;
    default:
      return node.properties ? objectFrom(node, random, depth) : null;
  }
}

function objectFrom(node: Schema, random: () => number, depth: number): Record<string, unknown> {
  const properties = (node.properties ?? {}) as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties))
    result[name] = jsonFromSchema(property, random, depth + 1);
  return result;
}
