/**
 * A message's content as text: a string as it is, nothing as "", a list of parts as their texts
 * joined by newlines. Any part that is not text goes to `refuse` (its type and index), which throws.
 */
export function contentText(content: unknown, refuse: (type: string, index: number) => never): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return (content as { type: string; text?: unknown }[])
    .map((part, index) => {
      if (part.type !== "text" || typeof part.text !== "string") refuse(part.type, index);
      return part.text as string;
    })
    .join("\n");
}
