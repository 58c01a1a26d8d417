import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { LabelledText } from "./linear-classifier.js";

/**
 * The shipped default training set: a few hundred prompts labelled `small` (greetings, short factual
 * questions, formatting) or `large` (multi-step reasoning, code, proofs, long analysis). It is a
 * starting point; operators should train on their own traffic's labels.
 */
export const defaultTrainingFile = fileURLToPath(new URL("../../data/prompt-tiers.jsonl", import.meta.url));

const lineSchema = z.object({ text: z.string().min(1), label: z.string().min(1) }).strict();

/** Parses JSONL `{ "text", "label" }` lines; blank lines are skipped. Errors name the line to fix. */
export function parseTrainingData(source: string, name = "training data"): LabelledText[] {
  const examples: LabelledText[] = [];
  const problems: string[] = [];
  source.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      problems.push(`${name}:${index + 1}: not valid JSON (${(error as Error).message})`);
      return;
    }
    const parsed = lineSchema.safeParse(value);
    if (parsed.success) examples.push(parsed.data);
    else problems.push(`${name}:${index + 1}: expected {"text": string, "label": string}`);
  });
  // Report a handful, not thousands: one bad export usually breaks every line the same way.
  if (problems.length > 0) throw new Error(problems.slice(0, 5).join("; "));
  if (examples.length === 0) throw new Error(`${name}: no examples`);
  return examples;
}

export function loadTrainingFile(path: string): LabelledText[] {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseTrainingData(source, path);
}
