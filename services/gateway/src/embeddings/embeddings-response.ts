import type { EmbeddingBatch } from "./embedder.js";
import { encodeBase64Vector } from "./vector-encoding.js";

/** OpenAI's `/v1/embeddings` answer. */
export function embeddingsResponseBody(
  batch: EmbeddingBatch,
  model: string,
  encodingFormat: "float" | "base64",
): unknown {
  return {
    object: "list",
    data: batch.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: encodingFormat === "base64" ? encodeBase64Vector(vector) : Array.from(vector),
    })),
    model,
    usage: { prompt_tokens: batch.promptTokens, total_tokens: batch.promptTokens },
  };
}
