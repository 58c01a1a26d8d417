/**
 * Model routing from its own file (`modelsFile` / ROUTER_MODELS_FILE), reloaded without a restart.
 * At start a bad file stops the router with the path of the bad field; later, a bad edit is logged
 * (same paths), counted, and changes nothing: the running configuration stays until a valid file
 * replaces it. ConfigMap updates and editors' save-by-rename are both seen (see watch-config.ts).
 */
import { readFileSync } from "node:fs";
import type { Counter } from "@strata/kit";
import { ConfigError, type Logger } from "@strata/kit";
import { ModelRouter, type ModelRouterDeps } from "./model-router.js";
import { type ConfigWatch, watchConfigFile } from "./watch-config.js";

export interface ModelRoutingSource {
  models: ModelRouter;
  /** Present when routing comes from a file. */
  watch: ConfigWatch | undefined;
}

export interface ModelRoutingDeps extends ModelRouterDeps {
  logger: Pick<Logger, "info" | "error" | "warn">;
  reloads: Pick<Counter<"result">, "inc">;
  /** Settle time for multi-step writes; tests shorten it. */
  debounceMs?: number;
}

export function startModelRouting(
  config: { models: unknown; modelsFile?: string | undefined },
  deps: ModelRoutingDeps,
): ModelRoutingSource {
  const file = config.modelsFile;
  if (file === undefined) return { models: ModelRouter.create(config.models, deps), watch: undefined };
  const contents = readText(file);
  const models = createFromFile(file, contents, deps);
  const watch = watchConfigFile(file, (next) => reload(file, next, models, deps), {
    initial: contents,
    debounceMs: deps.debounceMs,
    onError: (error) => deps.logger.warn({ file, err: error }, "cannot read the model routing file"),
  });
  return { models, watch };
}

/** Errors name the file first, then the field: `<file>: models.tiers.x.model: …`. */
function createFromFile(file: string, contents: string, deps: ModelRoutingDeps): ModelRouter {
  const input = parseJson(file, contents);
  try {
    return ModelRouter.create(input, deps);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(error.problems.map((problem) => `${file}: ${problem}`));
    throw error;
  }
}

function reload(file: string, contents: string, models: ModelRouter, deps: ModelRoutingDeps): void {
  let errors: string[];
  try {
    const result = models.reload(parseJson(file, contents));
    if (result.ok) {
      deps.reloads.inc({ result: "applied" });
      deps.logger.info({ file }, "model routing reloaded");
      return;
    }
    errors = result.errors;
  } catch (error) {
    errors = error instanceof ConfigError ? error.problems : [(error as Error).message];
  }
  deps.reloads.inc({ result: "invalid" });
  deps.logger.error({ file, errors }, "model routing file rejected; keeping the running configuration");
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError([`ROUTER_MODELS_FILE (${file}): cannot read: ${(error as Error).message}`]);
  }
}

function parseJson(file: string, contents: string): unknown {
  try {
    return JSON.parse(contents);
  } catch (error) {
    throw new ConfigError([`ROUTER_MODELS_FILE (${file}): not valid JSON: ${(error as Error).message}`]);
  }
}
