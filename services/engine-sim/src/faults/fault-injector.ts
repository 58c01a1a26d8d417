/**
 * Failure injection for tests of the clients in front of the engine (retries, circuit breakers,
 * timeouts): a scripted list of faults, each applied to the requests whose text matches it (the
 * text scripted replies match against), optionally only `times` times; or one fault named by the
 * request's `x-sim-fault` header (`status=429; retry-after=2`, `hang=3000`, `drop-after=3`).
 */
import { z } from "zod";

export const faultRuleSchema = z
  .object({
    /** Substring, or `/regex/flags`, of the request text; absent matches every request. */
    match: z.string().optional(),
    /** Answer with this status and the API's own error body instead of generating. */
    status: z.number().int().min(400).max(599).optional(),
    /** Sent as Retry-After with `status` (429 and 503 in practice). */
    retryAfterSeconds: z.number().min(0).optional(),
    /** Wait this long before answering at all (a replica stuck in a queue or a hung upstream). */
    hangMs: z.number().int().min(0).optional(),
    /** Drop the connection after this many streamed events (0: before any byte; plain answers: at once). */
    dropAfterChunks: z.number().int().min(0).optional(),
    /** Apply to this many matching requests, then retire; absent: every matching request. */
    times: z.number().int().positive().optional(),
  })
  .strict()
  .refine(
    (rule) => rule.status !== undefined || rule.hangMs !== undefined || rule.dropAfterChunks !== undefined,
    "a fault needs status, hangMs or dropAfterChunks",
  );

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type Fault = Omit<FaultRule, "match" | "times">;

interface ActiveRule {
  rule: FaultRule;
  test(text: string): boolean;
  remaining: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  /** Faults applied so far, for tests to assert on. */
  applied = 0;

  constructor(rules: readonly FaultRule[] = []) {
    this.set(rules);
  }

  /** Replaces the scripted faults (tests switch an engine between failing and healthy this way). */
  set(rules: readonly FaultRule[]): void {
    this.rules = rules.map((rule) => ({
      rule: faultRuleSchema.parse(rule),
      test: matcher(rule.match),
      remaining: rule.times ?? Number.POSITIVE_INFINITY,
    }));
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, if any: the header's, else the first live matching rule's (used up by one). */
  take(text: string, header: string | string[] | undefined): Fault | undefined {
    const fromHeader = parseFaultHeader(Array.isArray(header) ? header[0] : header);
    if (fromHeader) {
      this.applied++;
      return fromHeader;
    }
    const active = this.rules.find((entry) => entry.remaining > 0 && entry.test(text));
    if (!active) return undefined;
    active.remaining--;
    this.applied++;
    const { match: _match, times: _times, ...fault } = active.rule;
    return fault;
  }
}

function matcher(match: string | undefined): (text: string) => boolean {
  if (match === undefined) return () => true;
  const regex = /^\/(.*)\/([imsuv]*)$/s.exec(match);
  if (regex) {
    const pattern = new RegExp(regex[1] as string, regex[2]);
    return (text) => pattern.test(text);
  }
  return (text) => text.includes(match);
}

/** `status=429; retry-after=2`, `hang=3000`, `drop-after=3` (parts may combine). Bad parts are ignored. */
export function parseFaultHeader(value: string | undefined): Fault | undefined {
  if (!value) return undefined;
  const fault: Fault = {};
  for (const part of value.split(";")) {
    const [key, raw] = part.split("=").map((piece) => piece.trim());
    const number = Number(raw);
    if (!Number.isFinite(number) || number < 0) continue;
    if (key === "status" && number >= 400 && number <= 599) fault.status = Math.trunc(number);
    else if (key === "retry-after") fault.retryAfterSeconds = number;
    else if (key === "hang") fault.hangMs = Math.trunc(number);
    else if (key === "drop-after") fault.dropAfterChunks = Math.trunc(number);
  }
  return Object.keys(fault).length > 0 ? fault : undefined;
}
