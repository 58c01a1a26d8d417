/**
 * NATS subject matching: tokens are separated by `.`, `*` matches exactly one token and `>`
 * (only as the last token) matches one or more tokens.
 */
export function matchSubject(pattern: string, subject: string): boolean {
  const patternTokens = pattern.split(".");
  const subjectTokens = subject.split(".");
  for (let index = 0; index < patternTokens.length; index++) {
    const token = patternTokens[index];
    if (token === ">") return subjectTokens.length > index;
    if (index >= subjectTokens.length) return false;
    if (token !== "*" && token !== subjectTokens[index]) return false;
  }
  return patternTokens.length === subjectTokens.length;
}

/** True when some subject matches both patterns (JetStream refuses overlapping stream subjects). */
export function subjectsOverlap(left: string, right: string): boolean {
  const leftTokens = left.split(".");
  const rightTokens = right.split(".");
  for (let index = 0; index < Math.max(leftTokens.length, rightTokens.length); index++) {
    const a = leftTokens[index];
    const b = rightTokens[index];
    if (a === undefined || b === undefined) return false;
    if (a === ">" || b === ">") return true;
    if (a !== "*" && b !== "*" && a !== b) return false;
  }
  return true;
}
