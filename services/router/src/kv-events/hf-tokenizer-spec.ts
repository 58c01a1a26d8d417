/**
 * The parts of a Hugging Face `tokenizer.json` a byte-level BPE tokenizer is built from, validated:
 * anything this router cannot reproduce exactly (WordPiece/Unigram models, SentencePiece-style
 * Metaspace pre-tokenizers, lowercasing normalizers, BPE dropout…) is refused with the JSON path and
 * the reason, because a near-miss tokenizer silently turns every cache hit into a miss.
 */
import { z } from "zod";

const addedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().default(false),
  lstrip: z.boolean().default(false),
  rstrip: z.boolean().default(false),
  normalized: z.boolean().default(false),
  special: z.boolean().default(false),
});

export type AddedTokenSpec = z.output<typeof addedTokenSchema>;

const unicodeForms = ["NFC", "NFD", "NFKC", "NFKD"] as const;
export type UnicodeForm = (typeof unicodeForms)[number];

type NormalizerInput = { type: string; normalizers?: NormalizerInput[] };

const normalizerSchema: z.ZodType<NormalizerInput> = z.lazy(() =>
  z.looseObject({ type: z.string(), normalizers: z.array(normalizerSchema).optional() }),
);

const splitPatternSchema = z.union([
  z.strictObject({ Regex: z.string() }),
  z.strictObject({ String: z.string() }),
]);

export type PreTokenizerSpec =
  | { type: "ByteLevel"; addPrefixSpace: boolean; useRegex: boolean }
  | { type: "Split"; pattern: { regex: string } | { literal: string }; behavior: "Isolated" | "Removed" }
  | { type: "Digits"; individualDigits: boolean };

type PreTokenizerInput = Record<string, unknown> & { type: string; pretokenizers?: PreTokenizerInput[] };

const preTokenizerSchema: z.ZodType<PreTokenizerInput> = z.lazy(() =>
  z.looseObject({ type: z.string(), pretokenizers: z.array(preTokenizerSchema).optional() }),
);

const modelSchema = z.looseObject({
  type: z.string().optional(),
  dropout: z.number().nullable().optional(),
  unk_token: z.string().nullable().optional(),
  continuing_subword_prefix: z.string().nullable().optional(),
  end_of_word_suffix: z.string().nullable().optional(),
  byte_fallback: z.boolean().optional(),
  ignore_merges: z.boolean().optional(),
  // Checked by hand below: a real vocabulary has ~10^5 entries and ~3·10^5 merges, too many for
  // per-element schema parsing at start-up.
  vocab: z.custom<Record<string, unknown>>(
    (value) => typeof value === "object" && value !== null && !Array.isArray(value),
    "must be an object of token → id",
  ),
  merges: z.custom<unknown[]>((value) => Array.isArray(value), "must be a list"),
});

const fileSchema = z.looseObject({
  added_tokens: z.array(addedTokenSchema).default([]),
  normalizer: normalizerSchema.nullable().default(null),
  pre_tokenizer: preTokenizerSchema.nullable().default(null),
  model: modelSchema,
});

export interface HfTokenizerSpec {
  addedTokens: AddedTokenSpec[];
  /** Unicode normalization forms applied in order (empty: none). */
  normalizers: UnicodeForm[];
  /** Pre-tokenizer stages in order; the last is always ByteLevel. */
  preTokenizers: PreTokenizerSpec[];
  vocab: Map<string, number>;
  merges: [string, string][];
  ignoreMerges: boolean;
  unkToken: string | null;
  byteFallback: boolean;
}

export class TokenizerSpecError extends Error {
  constructor(path: string, message: string) {
    super(`tokenizer.json ${path}: ${message}`);
    this.name = "TokenizerSpecError";
  }
}

export function parseHfTokenizerSpec(json: unknown): HfTokenizerSpec {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TokenizerSpecError(issue?.path.join(".") || "(root)", issue?.message ?? "invalid");
  }
  const file = parsed.data;
  const model = file.model;
  const modelType = model.type ?? "BPE";
  if (modelType !== "BPE") {
    throw new TokenizerSpecError("model.type", `"${modelType}" is not supported (only byte-level BPE)`);
  }
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
    throw new TokenizerSpecError("model.dropout", "BPE dropout makes tokenization random");
  }
  for (const field of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    if (model[field]) throw new TokenizerSpecError(`model.${field}`, "is not supported by byte-level BPE");
  }
  return {
    addedTokens: file.added_tokens,
    normalizers: normalizerForms(file.normalizer, "normalizer"),
    preTokenizers: preTokenizerStages(file.pre_tokenizer),
    vocab: vocabulary(model.vocab),
    merges: model.merges.map((merge, index) => mergePair(merge, index)),
    ignoreMerges: model.ignore_merges ?? false,
    unkToken: model.unk_token ?? null,
    byteFallback: model.byte_fallback ?? false,
  };
}

function vocabulary(vocab: Record<string, unknown>): Map<string, number> {
  const map = new Map<string, number>();
  for (const token in vocab) {
    const id = vocab[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      throw new TokenizerSpecError(
        `model.vocab.${JSON.stringify(token)}`,
        `id ${String(id)} is not a non-negative integer`,
      );
    }
    map.set(token, id);
  }
  return map;
}

/** A merge as "left right" (older files) or ["left", "right"] (newer ones). */
function mergePair(merge: unknown, index: number): [string, string] {
  if (
    Array.isArray(merge) &&
    merge.length === 2 &&
    typeof merge[0] === "string" &&
    typeof merge[1] === "string"
  ) {
    return merge as [string, string];
  }
  if (typeof merge !== "string")
    throw new TokenizerSpecError(`model.merges.${index}`, 'is neither "a b" nor [a, b]');
  const parts = merge.split(" ");
  if (parts.length !== 2) throw new TokenizerSpecError(`model.merges.${index}`, `"${merge}" is not "a b"`);
  return [parts[0] as string, parts[1] as string];
}

function normalizerForms(normalizer: NormalizerInput | null, path: string): UnicodeForm[] {
  if (normalizer === null) return [];
  if (normalizer.type === "Sequence") {
    return (normalizer.normalizers ?? []).flatMap((inner, index) =>
      normalizerForms(inner, `${path}.normalizers.${index}`),
    );
  }
  if ((unicodeForms as readonly string[]).includes(normalizer.type)) return [normalizer.type as UnicodeForm];
  throw new TokenizerSpecError(
    `${path}.type`,
    `normalizer "${normalizer.type}" is not supported (NFC, NFD, NFKC, NFKD and Sequence are)`,
  );
}

function preTokenizerStages(root: PreTokenizerInput | null): PreTokenizerSpec[] {
  const flat: [PreTokenizerInput, string][] = [];
  const flatten = (node: PreTokenizerInput, path: string): void => {
    if (node.type !== "Sequence") {
      flat.push([node, path]);
      return;
    }
    for (const [index, inner] of (node.pretokenizers ?? []).entries()) {
      flatten(inner, `${path}.pretokenizers.${index}`);
    }
  };
  if (root !== null) flatten(root, "pre_tokenizer");
  const stages = flat.map(([node, path]) => preTokenizerStage(node, path));
  const byteLevel = stages.findIndex((stage) => stage.type === "ByteLevel");
  if (byteLevel < 0) {
    throw new TokenizerSpecError("pre_tokenizer", "has no ByteLevel stage: only byte-level BPE is supported");
  }
  if (byteLevel !== stages.length - 1) {
    throw new TokenizerSpecError(
      flat[byteLevel + 1]?.[1] ?? "pre_tokenizer",
      "stages after ByteLevel are not supported",
    );
  }
  return stages;
}

function preTokenizerStage(node: PreTokenizerInput, path: string): PreTokenizerSpec {
  switch (node.type) {
    case "ByteLevel":
      return {
        type: "ByteLevel",
        addPrefixSpace: node.add_prefix_space === true,
        useRegex: node.use_regex !== false,
      };
    case "Split": {
      const pattern = splitPatternSchema.safeParse(node.pattern);
      if (!pattern.success) throw new TokenizerSpecError(`${path}.pattern`, "must be {Regex} or {String}");
      if (node.invert === true)
        throw new TokenizerSpecError(`${path}.invert`, "inverted splits are not supported");
      const behavior = node.behavior;
      if (behavior !== "Isolated" && behavior !== "Removed") {
        throw new TokenizerSpecError(
          `${path}.behavior`,
          `"${String(behavior)}" is not supported (Isolated, Removed are)`,
        );
      }
      const value = pattern.data;
      return {
        type: "Split",
        pattern: "Regex" in value ? { regex: value.Regex } : { literal: value.String },
        behavior,
      };
    }
    case "Digits":
      return { type: "Digits", individualDigits: node.individual_digits === true };
    default:
      throw new TokenizerSpecError(
        `${path}.type`,
        `pre-tokenizer "${node.type}" is not supported (ByteLevel, Split, Digits and Sequence are)`,
      );
  }
}
