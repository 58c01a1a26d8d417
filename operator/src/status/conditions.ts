import type { Condition } from "../model-deployment/types.js";

export const conditionTypes = ["Available", "Progressing", "Degraded"] as const;
export type ConditionType = (typeof conditionTypes)[number];

/**
 * The new conditions with lastTransitionTime carried over from the current ones whose status did not
 * change, so a reconcile that learns nothing new writes nothing new.
 */
export function mergeConditions(
  current: Condition[] | undefined,
  next: Condition[],
  now: string,
): Condition[] {
  return next.map((condition) => {
    const previous = current?.find((existing) => existing.type === condition.type);
    const lastTransitionTime =
      previous && previous.status === condition.status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : now;
    return { ...condition, lastTransitionTime };
  });
}

export function findCondition(
  conditions: Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
