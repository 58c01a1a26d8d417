import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ConfigWatch, ModelRouter, watchConfigFile } from "../src/models/index.js";

const watches: ConfigWatch[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

function directory(): string {
  return mkdtempSync(join(tmpdir(), "strata-watch-"));
}

/** Collects onChange calls and lets a test wait for the next one. */
function recorder() {
  const seen: string[] = [];
  let wake: (() => void) | undefined;
  return {
    seen,
    onChange: (contents: string) => {
      seen.push(contents);
      wake?.();
    },
    next: (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`saw ${seen.length} changes, wanted ${count}`)),
          15_000,
        );
        const check = () => {
          if (seen.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake = check;
        check();
      }),
  };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("watchConfigFile", () => {
  it("reports a change once per burst of writes, with the final contents", async () => {
    const path = join(directory(), "router.json");
    writeFileSync(path, "v1");
    const changes = recorder();
    watches.push(watchConfigFile(path, changes.onChange, { debounceMs: 50, initial: "v1" }));
    await settle(50);
    writeFileSync(path, "v2-partial");
    writeFileSync(path, "v2");
    await changes.next(1);
    await settle(200);
    expect(changes.seen).toEqual(["v2"]);
  });

  it("ignores rewrites with the same contents and unrelated files", async () => {
    const dir = directory();
    const path = join(dir, "router.json");
    writeFileSync(path, "same");
    const changes = recorder();
    watches.push(watchConfigFile(path, changes.onChange, { debounceMs: 30, initial: "same" }));
    await settle(50);
    writeFileSync(path, "same");
    writeFileSync(join(dir, "other.json"), "x");
    await settle(300);
    expect(changes.seen).toEqual([]);
  });

  it("follows replacement by rename, as editors save", async () => {
    const dir = directory();
    const path = join(dir, "router.json");
    writeFileSync(path, "v1");
    const changes = recorder();
    watches.push(watchConfigFile(path, changes.onChange, { debounceMs: 30, initial: "v1" }));
    await settle(50);
    writeFileSync(join(dir, ".router.json.tmp"), "v2");
    renameSync(join(dir, ".router.json.tmp"), path);
    await changes.next(1);
    writeFileSync(join(dir, ".router.json.tmp"), "v3");
    renameSync(join(dir, ".router.json.tmp"), path);
    await changes.next(2);
    expect(changes.seen).toEqual(["v2", "v3"]);
  });

  it("follows a Kubernetes ConfigMap update (the ..data symlink swap)", async () => {
    const dir = directory();
    mkdirSync(join(dir, "..2024_01"));
    writeFileSync(join(dir, "..2024_01", "router.json"), "v1");
    symlinkSync("..2024_01", join(dir, "..data"));
    symlinkSync(join("..data", "router.json"), join(dir, "router.json"));
    const changes = recorder();
    watches.push(
      watchConfigFile(join(dir, "router.json"), changes.onChange, { debounceMs: 30, initial: "v1" }),
    );
    await settle(50);
    mkdirSync(join(dir, "..2024_02"));
    writeFileSync(join(dir, "..2024_02", "router.json"), "v2");
    symlinkSync("..2024_02", join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    await changes.next(1);
    expect(changes.seen).toEqual(["v2"]);
  });

  it("hands an onChange that throws to onError and keeps watching", async () => {
    const path = join(directory(), "router.json");
    writeFileSync(path, "v1");
    const errors: Error[] = [];
    const changes = recorder();
    const onChange = (contents: string) => {
      changes.onChange(contents);
      if (contents === "v2") throw new Error("cannot apply v2");
    };
    watches.push(
      watchConfigFile(path, onChange, {
        debounceMs: 30,
        initial: "v1",
        onError: (error) => errors.push(error),
      }),
    );
    writeFileSync(path, "v2");
    await changes.next(1);
    expect(errors.map((error) => error.message)).toEqual(["cannot apply v2"]);
    writeFileSync(path, "v3");
    await changes.next(2);
    expect(changes.seen).toEqual(["v2", "v3"]);
  });

  it("drives ModelRouter.reload: a good file swaps, a bad one keeps the running config", async () => {
    const path = join(directory(), "models.json");
    const tiers = (model: string) => JSON.stringify({ tiers: { main: { model } } });
    writeFileSync(path, tiers("a"));
    const models = ModelRouter.create(JSON.parse(tiers("a")), {
      isServed: (model) => ["a", "b"].includes(model),
    });
    const results: unknown[] = [];
    const changes = recorder();
    watches.push(
      watchConfigFile(
        path,
        (contents) => {
          results.push(models.reload(JSON.parse(contents)));
          changes.onChange(contents);
        },
        { debounceMs: 30, initial: tiers("a") },
      ),
    );
    await settle(50);
    writeFileSync(path, tiers("b"));
    await changes.next(1);
    expect((await models.resolve({ model: "main" })).model).toBe("b");
    writeFileSync(path, tiers("c"));
    await changes.next(2);
    expect(results).toEqual([
      { ok: true },
      { ok: false, errors: ['models.tiers.main.model: model "c" is not served by any endpoint'] },
    ]);
    expect((await models.resolve({ model: "main" })).model).toBe("b");
  });
});
