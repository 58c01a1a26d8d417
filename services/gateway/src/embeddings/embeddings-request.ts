import { StrataError } from "@strata/kit";
import { z } from "zod";
import { validateInput } from "../admin/admin-validation.js";

/** OpenAI's limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

export const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1, "must name a model"),
  // Checked by hand after parsing (inputList), so each shape gets its own clear message.
  input: z.unknown(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().optional(),
});

export interface EmbeddingsRequest {
  model: string;
  inputs: string[];
  encodingFormat: "float" | "base64";
  dimensions: number | undefined;
}

/** Validates a `/v1/embeddings` body; the first problem becomes a 400 whose `param` names the field. */
export function validateEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  const request = validateInput(embeddingsRequestSchema, body);
  return {
    model: request.model,
    inputs: inputList(request.input),
    encodingFormat: request.encoding_format ?? "float",
    dimensions: request.dimensions,
  };
}

/** The texts to embed: a string, or a non-empty array of at most MAX_EMBEDDING_INPUTS strings. */
function inputList(input: unknown): string[] {
  if (input === undefined || input === null)
    throw new StrataError("invalid_request", "Missing required parameter: 'input'.", { param: "input" });
  if (typeof input === "string") return [checkText(input, "input")];
  if (!Array.isArray(input)) throw invalid("input", "expected a string or an array of strings");
  if (input.length === 0) throw invalid("input", "must contain at least one input");
  if (input.length > MAX_EMBEDDING_INPUTS)
    throw invalid("input", `must contain at most ${MAX_EMBEDDING_INPUTS} inputs`);
  return input.map((item, index) => {
    if (typeof item === "number" || Array.isArray(item))
      throw new StrataError(
        "invalid_request",
        "Token-id input is not supported by this gateway; send the text to embed as a string or an array of strings.",
        { param: "input" },
      );
    if (typeof item !== "string") throw invalid(`input[${index}]`, "expected a string");
    return checkText(item, `input[${index}]`);
  });
}

function checkText(text: string, field: string): string {
  if (text.length === 0) throw invalid(field, "an input must not be empty");
  return text;
}

function invalid(field: string, problem: string): StrataError {
  return new StrataError("invalid_request", `Invalid value for '${field}': ${problem}.`, { param: "input" });
}
