import { hash } from "node:crypto";
import type { ChatCompletionRequest, CompletionRequest } from "../openai/request-schemas.js";
import type { CanonicalRequest } from "./canonical-request.js";

/**
 * The exact cache's key: one SHA-256 over the canonical request (operation, model, parameters, every
 * turn), prefixed by the tenant so no tenant can ever read another's answers. Canonical turns are
 * JSON without raw newlines, so "\n" separates the parts unambiguously.
 */
export function exactKey(tenantId: string, canonical: CanonicalRequest): string {
  return `${tenantId}:${sha256(`${canonical.operation}\n${canonical.model}\n${canonical.params}`, canonical.turns)}`;
}

/**
 * SHA-256 (base64url) of `head` and each turn after a "\n": one call on the joined text, which on the
 * request path costs a few µs less than a Hash object fed piece by piece (the same bytes, the same keys).
 */
function sha256(head: string, turns: readonly string[]): string {
  return hash("sha256", turns.length === 0 ? head : `${head}\n${turns.join("\n")}`, "base64url");
}

/** What the semantic cache embeds and where it looks: the last user turn, in the bucket of its context. */
export interface SemanticQuery {
  text: string;
  /**
   * Hash of everything the answer depends on besides the last user turn — embedder, operation, model,
   * parameters, and every earlier turn (system prompt included) — so only entries with the very same
   * context are ever compared.
   */
  bucket: string;
}

/**
 * The semantic lookup for a request, or undefined when its shape has no "last user turn" to match:
 * a chat whose last message is not the user's, or carries more than text (an image changes the
 * question), or a completion whose prompt is not one string.
 */
export function semanticQuery(
  request: ChatCompletionRequest | CompletionRequest,
  canonical: CanonicalRequest,
  embedderId: string,
): SemanticQuery | undefined {
  let text: string | undefined;
  let context = canonical.turns;
  if (canonical.operation === "chat.completions") {
    const messages = (request as ChatCompletionRequest).messages;
    text = userText(messages.at(-1)!);
    context = canonical.turns.slice(0, -1);
  } else {
    const prompt = (request as CompletionRequest).prompt;
    text = typeof prompt === "string" ? prompt : undefined;
    context = [];
  }
  if (text === undefined || text.trim() === "") return undefined;
  const head = `${embedderId}\n${canonical.operation}\n${canonical.model}\n${canonical.params}`;
  return { text, bucket: sha256(head, context) };
}

function userText(message: ChatCompletionRequest["messages"][number]): string | undefined {
  if (message.role !== "user") return undefined;
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type !== "text" || typeof part.text !== "string") return undefined;
    texts.push(part.text);
  }
  return texts.join("\n");
}
