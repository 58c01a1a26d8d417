/**
 * The `tokenize` dependency of the precise strategy, built on engine-sim's tokenizer. The router's
 * prompt is the text the engine will see (chat messages already rendered with the engine's
 * template), so it is encoded as-is: engine-sim's template starts with its own BOS ("<s>").
 * For plain completions engine-sim adds BOS itself; pass addSpecialTokens for those.
 *
 * A real vLLM fleet needs the served model's own tokenizer and chat template (for instance the
 * engine's POST /tokenize, or a local copy of its tokenizer.json), or the hashes will not match.
 */
import { type ChatMessage, renderChatTemplate, Tokenizer } from "@strata/engine-sim";

export type Tokenize = (prompt: string) => readonly number[];

export interface SimTokenizeOptions {
  /** Must equal the engines' --vocab-size. */
  vocabSize?: number;
  addSpecialTokens?: boolean;
}

export function createSimTokenize(options: SimTokenizeOptions = {}): Tokenize {
  const tokenizer = new Tokenizer({ vocabSize: options.vocabSize ?? 32_000 });
  const addSpecialTokens = options.addSpecialTokens ?? false;
  return (prompt) => tokenizer.encode(prompt, { addSpecialTokens });
}

/** The prompt text engine-sim builds from chat messages (what the gateway should send as `prompt`). */
export function renderSimChatPrompt(messages: readonly ChatMessage[]): string {
  return renderChatTemplate(messages);
}
