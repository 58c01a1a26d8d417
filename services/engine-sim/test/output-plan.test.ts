import { describe, expect, it } from "vitest";
import { OutputPlanner } from "../src/generation/output-plan.js";
import { compileScript } from "../src/generation/script.js";
import { EOS_TOKEN_ID, Tokenizer } from "../src/model/tokenizer.js";

const tokenizer = new Tokenizer();
const base = { matchText: "", promptTokenIds: [1, 2, 3], choiceIndex: 0, maxTokens: 1000 };

describe("OutputPlanner", () => {
  it("is deterministic for a prompt and seed, and varies with them", () => {
    const planner = new OutputPlanner(tokenizer);
    const a = planner.plan(base);
    expect(planner.plan(base)).toEqual(a);
    expect(planner.plan({ ...base, seed: 7 }).text).not.toBe(a.text);
    expect(planner.plan({ ...base, promptTokenIds: [1, 2, 4] }).text).not.toBe(a.text);
    expect(planner.plan({ ...base, choiceIndex: 1 }).text).not.toBe(a.text);
  });

  it("keeps unscripted replies within the configured token range", () => {
    const planner = new OutputPlanner(tokenizer, { randomMinTokens: 5, randomMaxTokens: 9 });
    for (let seed = 0; seed < 30; seed++) {
      const plan = planner.plan({ ...base, seed });
      expect(plan.tokenIds.length).toBeGreaterThanOrEqual(5);
      expect(plan.tokenIds.length).toBeLessThanOrEqual(9);
      expect(tokenizer.count(plan.text)).toBe(plan.tokenIds.length);
      expect(plan.finishReason).toBe("stop");
    }
  });

  it("answers with the first matching rule (substring or /regex/)", () => {
    const planner = new OutputPlanner(tokenizer, {
      rules: compileScript([
        { match: "/^what is (2|two)\\s*\\+\\s*2/i", reply: "4" },
        { match: "capital", reply: "Paris is the capital of France." },
        { match: "capital of France", reply: "never reached" },
      ]),
    });
    expect(planner.plan({ ...base, matchText: "What is 2 + 2?" }).text).toBe("4");
    const capital = planner.plan({ ...base, matchText: "the capital of France?" });
    expect(capital).toMatchObject({
      text: "Paris is the capital of France.",
      finishReason: "stop",
      scripted: true,
    });
    expect(capital.tokenIds).toEqual(tokenizer.encode("Paris is the capital of France."));
    expect(planner.plan({ ...base, matchText: "unrelated" }).scripted).toBe(false);
  });

  it("caps at max_tokens with finish_reason length", () => {
    const planner = new OutputPlanner(tokenizer, {
      rules: compileScript([{ match: "", reply: "one two three four five" }]),
    });
    const plan = planner.plan({ ...base, maxTokens: 3 });
    expect(plan).toMatchObject({ text: "one two three", finishReason: "length" });
    expect(plan.deltas).toEqual(["one", " two", " three"]);
    expect(planner.plan({ ...base, maxTokens: 5 }).finishReason).toBe("length");
    expect(planner.plan({ ...base, maxTokens: 6 }).finishReason).toBe("stop");
  });

  it("truncates at a stop string, reporting it as stop_reason", () => {
    const planner = new OutputPlanner(tokenizer, {
      rules: compileScript([{ match: "", reply: "alpha beta. gamma delta" }]),
    });
    const plan = planner.plan({ ...base, stop: ["."] });
    expect(plan).toMatchObject({ text: "alpha beta", finishReason: "stop", stopReason: "." });
    expect(plan.deltas.join("")).toBe("alpha beta");
  });

  it("extends with filler for ignore_eos and min_tokens; an empty reply still yields EOS", () => {
    const planner = new OutputPlanner(tokenizer, { rules: compileScript([{ match: "", reply: "short" }]) });
    const ignoring = planner.plan({ ...base, maxTokens: 40, ignoreEos: true });
    expect(ignoring.tokenIds).toHaveLength(40);
    expect(ignoring.finishReason).toBe("length");
    expect(ignoring.text.startsWith("short ")).toBe(true);
    expect(planner.plan({ ...base, minTokens: 12 }).tokenIds).toHaveLength(12);
    const empty = new OutputPlanner(tokenizer, { rules: compileScript([{ match: "", reply: "" }]) }).plan(
      base,
    );
    expect(empty).toMatchObject({ tokenIds: [EOS_TOKEN_ID], text: "", finishReason: "stop" });
  });
});
