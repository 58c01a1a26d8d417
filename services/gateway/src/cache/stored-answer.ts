import type { Operation } from "../openai/request-schemas.js";

/**
 * What both caches keep for one answer: the complete non-streamed JSON answer (a streamed answer is
 * assembled into it first), so a plain request gets the bytes back as they are and a stream replays
 * them as chunks (sse-replay.ts).
 */
export interface StoredAnswer {
  operation: Operation;
  body: Buffer;
  /** The model that produced it, as the answer names it. */
  servedModel: string;
  promptTokens: number;
  completionTokens: number;
  /** Unix ms when it was stored. */
  storedAt: number;
}

interface Header {
  v: 1;
  op: Operation;
  model: string;
  pt: number;
  ct: number;
  at: number;
}

/** One small JSON header line, then the body as it is: no escaping of the (possibly large) answer. */
export function encodeAnswer(answer: StoredAnswer): Buffer {
  const header: Header = {
    v: 1,
    op: answer.operation,
    model: answer.servedModel,
    pt: answer.promptTokens,
    ct: answer.completionTokens,
    at: answer.storedAt,
  };
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  return Buffer.concat([head, answer.body], head.length + answer.body.length);
}

/** The inverse of encodeAnswer; undefined for bytes it did not write (another version, corruption). */
export function decodeAnswer(bytes: Buffer): StoredAnswer | undefined {
  const newline = bytes.indexOf(10);
  if (newline < 0) return undefined;
  try {
    const header = JSON.parse(bytes.subarray(0, newline).toString("utf8")) as Header;
    if (header.v !== 1) return undefined;
    return {
      operation: header.op,
      body: bytes.subarray(newline + 1),
      servedModel: header.model,
      promptTokens: header.pt,
      completionTokens: header.ct,
      storedAt: header.at,
    };
  } catch {
    return undefined;
  }
}

/** Bytes an answer occupies in memory, for the in-process stores' bounds. */
export function answerBytes(answer: StoredAnswer): number {
  return answer.body.length + answer.servedModel.length * 2 + 96;
}
