/**
 * Seeded randomness and synthetic text for the routing workloads. Words are short letter strings, so
 * engine-sim's tokenizer makes one token of each (a leading space rides on the word): a text of n words
 * is about n tokens, which keeps workload sizes easy to reason about.
 */

/** mulberry32: small, fast, and good enough to shuffle workloads; the same seed gives the same run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Exponentially distributed with the given mean (Poisson inter-arrival gaps). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

const letters = "abcdefghijklmnopqrstuvwxyz";

/** A fixed vocabulary of 4096 words of 2–5 letters, the same for every seed. */
const vocabulary: readonly string[] = (() => {
  const random = new Random(7);
  return Array.from({ length: 4096 }, () => {
    let word = "";
    for (let index = random.int(2, 5); index > 0; index--) word += letters[random.int(0, 25)];
    return word;
  });
})();

/**
 * `count` words separated by spaces, with no trailing punctuation: a reply that ends in punctuation
 * would fuse with the chat template's next special token and break the history's token prefix.
 */
export function words(random: Random, count: number): string {
  const parts: string[] = [];
  for (let index = 0; index < count; index++) parts.push(random.pick(vocabulary));
  return parts.join(" ");
}
