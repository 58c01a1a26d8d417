/** Time source, injected so tests can move time without patching globals. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
