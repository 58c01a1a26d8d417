import { type CallContext, type ServiceClient, type ServiceImpl, StrataError } from "@strata/kit";
import type { gatewayV1, routerV1 } from "@strata/proto";
import type { ApiKeyStore } from "../auth/api-key-store.js";
import { visibleModels } from "../auth/authorize-model.js";
import { parseCacheDirectives } from "../cache/cache-directives.js";
import { createEmbeddingRpc } from "../embeddings/embeddings-grpc.js";
import type { EmbeddingsService } from "../embeddings/embeddings-service.js";
import { type Operation, validateRequest } from "../openai/request-schemas.js";
import type { CompletionPipeline, CompletionResult } from "../pipeline/completion-pipeline.js";
import { requestTimeoutMs } from "../pipeline/request-deadline.js";
import { newRequestId } from "../pipeline/request-id.js";
import { authorizationOf } from "./authorization.js";
import { chatBody, completionBody, errorFromHttp, usageMessage } from "./proto-mapping.js";

export interface GatewayServiceDeps {
  keys: Pick<ApiKeyStore, "authenticate">;
  pipeline: Pick<CompletionPipeline, "execute">;
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;
  /** CreateEmbedding; absent: the call is refused as not found. */
  embeddings?: Pick<EmbeddingsService, "create">;
}

/** The gRPC face of the gateway: the same pipeline, keys and errors as the HTTP API. */
export function gatewayService(deps: GatewayServiceDeps): ServiceImpl<typeof gatewayV1.GatewayService> {
  function authenticate(context: CallContext) {
    return deps.keys.authenticate(authorizationOf(context));
  }

  async function run(operation: Operation, body: unknown, context: CallContext): Promise<CompletionResult> {
    const auth = await authenticate(context);
    const request = validateRequest(operation, body);
    const requestId = newRequestId();
    const timeout = context.metadata.get("x-strata-timeout-ms")[0];
    const cache = parseCacheDirectives((name) => {
      const value = context.metadata.get(name)[0];
      return typeof value === "string" ? value : undefined;
    });
    // Steps add headers (x-strata-route, x-ratelimit-*...); gRPC sends them as response metadata.
    const headers: Record<string, string> = { "x-request-id": requestId };
    const send = () => {
      for (const [name, value] of Object.entries(headers)) context.setHeader(name, value);
    };
    const result = await deps.pipeline
      .execute({
        operation,
        request,
        auth,
        requestId,
        signal: context.signal,
        startedAt: performance.now(),
        timeoutMs: requestTimeoutMs(typeof timeout === "string" ? timeout : undefined, context.deadline),
        headers,
        cache,
      })
      .catch((error: unknown) => {
        send();
        throw error;
      });
    send();
    return result;
  }

  async function json<T>(
    operation: Operation,
    body: unknown,
    context: CallContext,
  ): Promise<{ answer: T; route: string }> {
    const result = await run(operation, body, context);
    if (result.kind !== "json") throw new Error("expected a complete answer");
    if (result.status !== 200) throw errorFromHttp(result.status, result.body);
    return {
      answer: JSON.parse(result.body.toString("utf8")) as T,
      route: result.headers["x-strata-route"] ?? "",
    };
  }

  async function* chunks<T>(operation: Operation, body: unknown, context: CallContext): AsyncIterable<T> {
    const result = await run(operation, body, context);
    if (result.kind === "json") throw errorFromHttp(result.status, result.body);
    for await (const data of result.events) {
      if (data === "[DONE]") return;
      yield JSON.parse(data) as T;
    }
  }

  return {
    async createChatCompletion(request, context) {
      const { answer, route } = await json<ChatJson>("chat.completions", chatBody(request, false), context);
      return {
        ...header(answer),
        choices: answer.choices.map((choice) => ({
          index: choice.index,
          message: { role: choice.message?.role ?? "assistant", content: choice.message?.content ?? "" },
          finishReason: choice.finish_reason ?? "",
        })),
        route,
      };
    },
    async *streamChatCompletion(request, context) {
      for await (const chunk of chunks<ChatJson>("chat.completions", chatBody(request, true), context)) {
        yield {
          ...header(chunk),
          choices: chunk.choices.map((choice) => ({
            index: choice.index,
            delta: { role: choice.delta?.role ?? "", content: choice.delta?.content ?? "" },
            finishReason: choice.finish_reason ?? "",
          })),
        };
      }
    },
    async createCompletion(request, context) {
      const { answer, route } = await json<TextJson>("completions", completionBody(request, false), context);
      return { ...header(answer), choices: answer.choices.map(textChoice), route };
    },
    async *streamCompletion(request, context) {
      for await (const chunk of chunks<TextJson>("completions", completionBody(request, true), context)) {
        yield { ...header(chunk), choices: chunk.choices.map(textChoice) };
      }
    },
    async listModels(_request, context) {
      const auth = await authenticate(context);
      const { models } = await deps.router.listModels({});
      return {
        data: visibleModels(auth, models).map((model) => ({
          id: model.id,
          ownedBy: model.ownedBy || "strata",
          created: 0n,
        })),
      };
    },
    createEmbedding: deps.embeddings
      ? createEmbeddingRpc({ authenticate, embeddings: deps.embeddings })
      : async () => {
          throw new StrataError("not_found", "This gateway serves no embeddings.");
        },
  };
}

interface AnswerJson {
  id: string;
  model: string;
  created: number;
  usage?: Parameters<typeof usageMessage>[0];
}
interface ChatJson extends AnswerJson {
  choices: {
    index: number;
    message?: { role?: string; content?: string | null };
    delta?: { role?: string; content?: string | null };
    finish_reason?: string | null;
  }[];
}
interface TextJson extends AnswerJson {
  choices: { index: number; text: string; finish_reason?: string | null }[];
}

function header(answer: AnswerJson) {
  return {
    id: answer.id,
    model: answer.model,
    created: BigInt(answer.created ?? 0),
    usage: usageMessage(answer.usage),
  };
}

function textChoice(choice: TextJson["choices"][number]) {
  return { index: choice.index, text: choice.text, finishReason: choice.finish_reason ?? "" };
}
