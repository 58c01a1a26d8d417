import { LinkedAbort, StrataError } from "@strata/kit";
import { Agent, type Dispatcher, request } from "undici";
import type { LlmClassifierConfig } from "./model-routing-config.js";

/** Asks a model which label fits a prompt. Rejects on timeout, transport error or an unusable answer. */
export interface LlmClassifier {
  classify(text: string, labels: readonly string[], signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

const defaultInstructions =
  "You choose which language model should answer a request. " +
  "'small' is a fast model for greetings, short factual questions, translations and simple formatting. " +
  "'large' is a strong model for multi-step reasoning, code, math proofs and long analysis. " +
  "Do not answer the request itself.";

// Enough for one word plus a stray token of punctuation or whitespace, and no room to ramble.
const maxAnswerTokens = 4;
const maxAnswerBytes = 64 * 1024;

/**
 * An LlmClassifier over an OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, TGI's Messages
 * API, engine-sim), with greedy decoding so the same prompt gets the same answer. Its own connection
 * pool keeps classification calls from queueing behind other traffic of the process.
 */
export class OpenAiLlmClassifier implements LlmClassifier {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(
    private readonly config: Pick<LlmClassifierConfig, "url" | "model" | "timeoutMs"> &
      Partial<Pick<LlmClassifierConfig, "apiKey" | "instructions">>,
    dispatcher?: Dispatcher,
  ) {
    this.ownsDispatcher = dispatcher === undefined;
    this.dispatcher = dispatcher ?? new Agent({ connect: { timeout: config.timeoutMs }, connections: 8 });
  }

  async classify(text: string, labels: readonly string[], signal?: AbortSignal): Promise<string> {
    const abort = new LinkedAbort(signal, { timeoutMs: this.config.timeoutMs });
    const instructions = this.config.instructions ?? defaultInstructions;
    try {
      const response = await request(`${this.config.url}/v1/chat/completions`, {
        method: "POST",
        dispatcher: this.dispatcher,
        signal: abort.signal,
        headers: {
          "content-type": "application/json",
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.config.model,
          messages: [
            { role: "system", content: `${instructions}\nAnswer with one word: ${labels.join(" or ")}.` },
            { role: "user", content: text },
          ],
          max_tokens: maxAnswerTokens,
          temperature: 0,
          stream: false,
        }),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new StrataError("upstream_error", `LLM classifier answered HTTP ${response.statusCode}`);
      }
      const body = await readLimited(response.body, maxAnswerBytes);
      const answer = parseAnswer(body, labels);
      if (answer === undefined) {
        throw new StrataError(
          "upstream_error",
          `LLM classifier gave no usable label (${JSON.stringify(body)})`,
        );
      }
      return answer;
    } catch (error) {
      if (error instanceof StrataError) throw error;
      if (abort.signal.aborted && !signal?.aborted) {
        throw new StrataError("timeout", `LLM classifier took longer than ${this.config.timeoutMs} ms`, {
          cause: error,
        });
      }
      if (signal?.aborted) throw new StrataError("client_closed", "request cancelled", { cause: error });
      throw new StrataError("upstream_error", `LLM classifier failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      abort.dispose();
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

/**
 * Closes classifiers no snapshot uses any more without waiting (Agent.close lets in-flight calls
 * finish). A close that fails has nothing left to clean up, so it must not become an unhandled
 * rejection.
 */
export function closeInBackground(classifiers: readonly LlmClassifier[]): void {
  for (const llm of classifiers) llm.close().catch(() => {});
}

async function readLimited(body: Dispatcher.ResponseData["body"], limit: number): Promise<string> {
  let text = "";
  for await (const chunk of body) {
    text += chunk.toString();
    if (text.length > limit) {
      body.destroy();
      throw new StrataError("upstream_error", "LLM classifier answer too large");
    }
  }
  return text;
}

/**
 * Reads `choices[0].message.content` and finds the label in it. Small models often say "Large." or
 * "large\n" and sometimes "The answer is large"; the first word that is a label wins, and an answer
 * naming no label, or the body's content missing, yields undefined.
 */
export function parseAnswer(body: string, labels: readonly string[]): string | undefined {
  let content: unknown;
  try {
    content = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message
      ?.content;
  } catch {
    return undefined;
  }
  if (typeof content !== "string") return undefined;
  const byLower = new Map(labels.map((label) => [label.toLowerCase(), label]));
  for (const word of content.toLowerCase().split(/[^\p{L}\p{N}_-]+/u)) {
    const label = byLower.get(word);
    if (label !== undefined) return label;
  }
  return undefined;
}
