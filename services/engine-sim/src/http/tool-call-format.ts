/**
 * OpenAI tool-call answers in vLLM's shapes: a message whose content is null and whose tool_calls
 * carry the arguments as a JSON string (finish_reason "tool_calls"); streamed, one chunk opening each
 * call (id, type, name, empty arguments) then argument pieces as the tokens come.
 */
import { randomUUID } from "node:crypto";
import type { OutputPlan } from "../generation/output-plan.js";
import {
  CallArgumentCutter,
  splitCallArguments,
  type ToolCallReply,
} from "../generation/structured-reply.js";
import type { ResponseMeta } from "./openai-format.js";

export function toolCallId(): string {
  return `chatcmpl-tool-${randomUUID().replaceAll("-", "")}`;
}

/** finish_reason of a tool-call answer: cut by max_tokens stays "length". */
function finishReason(plan: OutputPlan): string {
  return plan.finishReason === "length" ? "length" : "tool_calls";
}

/** Rewrites the choices of a chat.completion body into tool calls. */
export function withToolCalls(
  body: unknown,
  calls: readonly ToolCallReply[],
  plans: readonly OutputPlan[],
): unknown {
  const completion = body as { choices: { message: Record<string, unknown>; finish_reason: string }[] };
  completion.choices.forEach((choice, index) => {
    const plan = plans[index] as OutputPlan;
    choice.message.content = null;
    choice.message.tool_calls = splitCallArguments(plan.text, calls).map((args, callIndex) => ({
      id: toolCallId(),
      type: "function",
      function: { name: calls[callIndex]?.name ?? "", arguments: args },
    }));
    choice.finish_reason = finishReason(plan);
  });
  return body;
}

/** Streams one choice's tool calls: call headers as each call begins, then its argument pieces. */
export class ToolCallStreamer {
  private opened = -1;
  private readonly cutter: CallArgumentCutter;

  constructor(
    private readonly meta: ResponseMeta,
    private readonly choice: number,
    private readonly calls: readonly ToolCallReply[],
  ) {
    this.cutter = new CallArgumentCutter(calls);
  }

  chunks(text: string, plan: OutputPlan | null): unknown[] {
    const out: unknown[] = [];
    this.cutter.cut(text, (call, piece) => {
      if (call > this.opened) {
        out.push(
          this.chunk({
            index: call,
            id: toolCallId(),
            type: "function",
            function: { name: this.calls[call]?.name, arguments: "" },
          }),
        );
        this.opened = call;
      }
      out.push(this.chunk({ index: call, function: { arguments: piece } }));
    });
    if (plan) out.push(this.finish(plan));
    return out;
  }

  private chunk(toolCall: unknown): unknown {
    return this.wrap({ tool_calls: [toolCall] }, null);
  }

  private finish(plan: OutputPlan): unknown {
    return this.wrap({}, finishReason(plan));
  }

  private wrap(delta: unknown, finish: string | null): unknown {
    const { id, created, model } = this.meta;
    return {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: this.choice, delta, logprobs: null, finish_reason: finish }],
    };
  }
}
