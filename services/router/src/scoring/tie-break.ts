/** Values closer than this are a tie; scores are sums of small numbers, so this only absorbs float noise. */
export const tieTolerance = 1e-9;

/**
 * Picks the best eligible index, rotating among ties so equal endpoints share traffic instead of the
 * first one taking every request while metrics lag (KubeAI's LeastLoad, GIE's max-score picker with
 * random tie break). Rotation instead of randomness keeps decisions reproducible without a seed.
 * Allocation-free: two passes over the values.
 */
export class RotatingTieBreak {
  private turn = 0;
  /** How many candidates tied with the winner in the last pick (1 = no tie). */
  lastTies = 1;

  pick(
    values: ArrayLike<number>,
    eligible: (index: number) => boolean,
    direction: "min" | "max",
    tolerance = tieTolerance,
  ): number {
    const sign = direction === "min" ? 1 : -1;
    let best = Number.POSITIVE_INFINITY;
    for (let index = 0; index < values.length; index++) {
      if (eligible(index) && sign * values[index]! < best) best = sign * values[index]!;
    }
    if (best === Number.POSITIVE_INFINITY) return -1;
    let ties = 0;
    for (let index = 0; index < values.length; index++) {
      if (eligible(index) && sign * values[index]! - best <= tolerance) ties++;
    }
    const wanted = this.turn % ties;
    this.turn = (this.turn + 1) % Number.MAX_SAFE_INTEGER;
    this.lastTies = ties;
    let seen = 0;
    for (let index = 0; index < values.length; index++) {
      if (eligible(index) && sign * values[index]! - best <= tolerance && seen++ === wanted) return index;
    }
    return -1;
  }
}

/** Numbers in explanations: integers as-is, others with two decimals. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
