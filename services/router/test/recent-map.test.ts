import { describe, expect, it } from "vitest";
import { RecentMap } from "../src/recent-map.js";

describe("RecentMap", () => {
  it("forgets the least recently set entry past its limit, and take() removes what it returns", () => {
    const map = new RecentMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    map.set("a", 3); // a is now the newest
    map.set("c", 4);
    expect([map.get("a"), map.get("b"), map.get("c"), map.size]).toEqual([3, undefined, 4, 2]);
    expect(map.take("a")).toBe(3);
    expect(map.take("a")).toBeUndefined();
    expect(map.size).toBe(1);
  });
});
