/**
 * The engine's prompt text rebuilt from the kit's rendering: what a vLLM engine's chat template
 * writes for the same messages, byte for byte.
 */
import { renderChatTemplate, renderCompletionPrompt } from "@strata/kit";
import { describe, expect, it } from "vitest";
import {
  createPromptRenderer,
  PROMPT_TEMPLATES,
  parseKitChatPrompt,
} from "../src/kv-events/engine-prompt.js";

const messages = [
  { role: "system", content: "  Be brief.\n" },
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello." },
  { role: "user", content: "What is <|end|>\nthis?" },
];

describe("parseKitChatPrompt", () => {
  it("recovers the messages and the generation prompt from the kit's rendering", () => {
    expect(parseKitChatPrompt(renderChatTemplate(messages))).toEqual({ messages, addGenerationPrompt: true });
    expect(parseKitChatPrompt(renderChatTemplate(messages, false))).toEqual({
      messages,
      addGenerationPrompt: false,
    });
  });

  it("is not fooled by end markers inside content that no role header follows", () => {
    const tricky = [{ role: "user", content: "a<|end|>\nb<|end|>\n\n<|x" }];
    expect(parseKitChatPrompt(renderChatTemplate(tricky))?.messages).toEqual(tricky);
  });

  it("says a completion is not a chat", () => {
    expect(parseKitChatPrompt(renderCompletionPrompt("Once upon a time"))).toBeNull();
    expect(parseKitChatPrompt("<s>")).toBeNull();
    expect(parseKitChatPrompt("plain text")).toBeNull();
  });
});

describe("createPromptRenderer", () => {
  it("writes Meta Llama 3 Instruct's template: BOS, headers, trimmed content, generation prompt", () => {
    const render = createPromptRenderer(PROMPT_TEMPLATES.llama3);
    expect(render(renderChatTemplate(messages))).toBe(
      "<|begin_of_text|>" +
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is <|end|>\nthis?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    // A completion gets the BOS the tokenizer adds instead of the kit's.
    expect(render(renderCompletionPrompt("Once upon"))).toBe("<|begin_of_text|>Once upon");
    // Text the kit did not render is the engine's already.
    expect(render("<|begin_of_text|>raw")).toBe("<|begin_of_text|>raw");
  });

  it("writes ChatML without trimming or a BOS, and a configured default system prompt", () => {
    expect(createPromptRenderer(PROMPT_TEMPLATES.chatml)(renderChatTemplate(messages.slice(1, 2)))).toBe(
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
    const qwen = createPromptRenderer({
      ...PROMPT_TEMPLATES.chatml,
      defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    });
    expect(qwen(renderChatTemplate([{ role: "user", content: " Hi " }], false))).toBe(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
        "<|im_start|>user\n Hi <|im_end|>\n",
    );
    expect(qwen(renderChatTemplate(messages.slice(0, 1), false))).toBe(
      "<|im_start|>system\n  Be brief.\n<|im_end|>\n",
    );
  });

  it("keeps $ patterns in content literal", () => {
    const render = createPromptRenderer(PROMPT_TEMPLATES.chatml);
    expect(render(renderChatTemplate([{ role: "user", content: "cost $& $1 $$" }], false))).toBe(
      "<|im_start|>user\ncost $& $1 $$<|im_end|>\n",
    );
  });
});
