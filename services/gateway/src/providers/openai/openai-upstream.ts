import { StrataError } from "@strata/kit";
import { sseEvents } from "../../upstream/sse-events.js";
import type { UpstreamClient } from "../../upstream/upstream-client.js";
import type { ProviderRequest, UpstreamAnswer } from "../provider.js";
import { readAnswer } from "../upstream-failures.js";

const paths = { "chat.completions": "/chat/completions", completions: "/completions" } as const;

/** The API path of an operation under an OpenAI-style base URL (one that ends in /v1). */
export function openAiPath(operation: ProviderRequest["operation"]): string {
  return paths[operation];
}

/**
 * The client's body for an OpenAI-compatible upstream: unchanged but for the model, every field
 * (tools, response_format, logprobs, n, seed, user, extensions...) passing through as sent. Streams
 * always ask for usage so every request is accounted; the gateway drops that chunk again for
 * clients that did not ask for it.
 */
export function openAiBody(request: ProviderRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request.body, model: request.model };
  if (request.body.stream) body.stream_options = { ...request.body.stream_options, include_usage: true };
  return body;
}

/** POSTs an OpenAI-shaped request and hands back the answer as it begins. */
export async function sendOpenAiCompatible(
  client: Pick<UpstreamClient, "post">,
  options: {
    url: string;
    body: unknown;
    headers: Record<string, string>;
    signal: AbortSignal;
    stream: boolean;
  },
): Promise<UpstreamAnswer> {
  const response = await client.post(options);
  if (response.status < 300 && options.stream)
    return { kind: "stream", events: untilDone(sseEvents(response.body, options.url), options.url) };
  return { kind: "json", ...(await readAnswer(response, options.url)) };
}

/** An OpenAI-style stream always ends with [DONE]; one that stops short was cut, not finished. */
async function* untilDone(events: AsyncIterable<string>, url: string): AsyncGenerator<string> {
  let done = false;
  // Read on to the body's end after [DONE]: the connection then goes back to the pool for reuse.
  for await (const data of events) {
    if (done) continue;
    yield data;
    done = data === "[DONE]";
  }
  if (done) return;
  throw new StrataError(
    "upstream_error",
    `The upstream at ${new URL(url).origin} ended the stream before [DONE].`,
  );
}
