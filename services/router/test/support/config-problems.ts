import { ConfigError } from "@strata/kit";

/** The problems of the ConfigError `load` throws; fails the test when it throws none or another error. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}
