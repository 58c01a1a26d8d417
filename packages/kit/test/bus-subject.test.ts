import { describe, expect, it } from "vitest";
import { matchSubject, subjectsOverlap } from "../src/bus/subject.js";

describe("matchSubject", () => {
  it.each([
    ["jobs.chat", "jobs.chat", true],
    ["jobs.chat", "jobs.embed", false],
    ["jobs.*", "jobs.chat", true],
    ["jobs.*", "jobs.chat.high", false],
    ["jobs.*.high", "jobs.chat.high", true],
    ["jobs.>", "jobs.chat", true],
    ["jobs.>", "jobs.chat.high", true],
    ["jobs.>", "jobs", false],
    [">", "anything.at.all", true],
    ["jobs", "jobs.chat", false],
    ["jobs.chat.x", "jobs.chat", false],
  ])("%s matches %s: %s", (pattern, subject, expected) => {
    expect(matchSubject(pattern, subject)).toBe(expected);
  });
});

describe("subjectsOverlap", () => {
  it.each([
    ["jobs.>", "jobs.chat", true],
    ["jobs.*", "jobs.chat.high", false],
    ["jobs.*.high", "jobs.chat.*", true],
    ["jobs.chat", "jobs.embed", false],
    ["usage.>", "jobs.>", false],
    ["a.b", "a.b.c", false],
  ])("%s overlaps %s: %s", (left, right, expected) => {
    expect(subjectsOverlap(left, right)).toBe(expected);
    expect(subjectsOverlap(right, left)).toBe(expected);
  });
});
