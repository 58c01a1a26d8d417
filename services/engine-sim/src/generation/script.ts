/**
 * Scripted replies: an ordered list of `{ match, reply }` rules; the first rule whose `match` is
 * found in the text (the last user message, the completion prompt or TGI `inputs`) gives the reply.
 * `match` is a substring, or a regular expression written as `/pattern/flags`. Files are JSON or
 * YAML: either a list of rules or `{ rules: [...] }`.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** A tool call a rule answers with when the request offers tools (OpenAI tool_calls, Anthropic tool_use). */
export const scriptedToolCallSchema = z
  .object({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) })
  .strict();
export type ScriptedToolCall = z.infer<typeof scriptedToolCallSchema>;

export const scriptRuleSchema = z
  .object({
    match: z.string(),
    /** The reply text (also used as the JSON document of a JSON-mode answer when it parses as JSON). */
    reply: z.string().optional(),
    /** Tool calls to answer with when the request offers tools (tool_choice not "none"). */
    toolCalls: z.array(scriptedToolCallSchema).min(1).optional(),
  })
  .strict()
  .refine((rule) => rule.reply !== undefined || rule.toolCalls !== undefined, {
    message: "a rule needs a reply or toolCalls",
    path: ["reply"],
  });
export type ScriptRule = z.input<typeof scriptRuleSchema>;

const scriptFileSchema = z.union([z.array(scriptRuleSchema), z.object({ rules: z.array(scriptRuleSchema) })]);

export interface CompiledRule {
  rule: z.output<typeof scriptRuleSchema>;
  test(text: string): boolean;
}

export function compileScript(rules: readonly ScriptRule[]): CompiledRule[] {
  return rules.map((input) => {
    const rule = scriptRuleSchema.parse(input);
    const regex = /^\/(.*)\/([dgimsuvy]*)$/s.exec(rule.match);
    if (regex) {
      const pattern = new RegExp(regex[1] as string, (regex[2] as string).replace(/[gy]/g, ""));
      return { rule, test: (text) => pattern.test(text) };
    }
    return { rule, test: (text) => text.includes(rule.match) };
  });
}

export function findScriptedReply(rules: readonly CompiledRule[], text: string): string | undefined {
  return findScriptedRule(rules, text)?.reply;
}

export function findScriptedRule(
  rules: readonly CompiledRule[],
  text: string,
): z.output<typeof scriptRuleSchema> | undefined {
  for (const compiled of rules) if (compiled.test(text)) return compiled.rule;
  return undefined;
}

export async function loadScriptFile(path: string): Promise<ScriptRule[]> {
  const source = await readFile(path, "utf8");
  const data: unknown = /\.ya?ml$/i.test(path) ? parseYaml(source) : JSON.parse(source);
  const parsed = scriptFileSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(`invalid script file ${path}: ${z.prettifyError(parsed.error)}`);
  }
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.rules;
}
