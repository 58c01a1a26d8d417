/**
 * Hugging Face tokenizers compile their pre-tokenizer patterns with Oniguruma; the same pattern text
 * means something else to JavaScript. This translates the subset tokenizer.json files use into an
 * equivalent JavaScript `u` regex, and refuses the rest with a message naming the construct:
 *
 * - `(?i:…)` inline case-insensitive groups (absent from Node 20): each letter becomes the class of
 *   the characters that match it case-insensitively, e.g. `s` → `[sSſ]`.
 * - `\s` / `\S`: Oniguruma's Unicode White_Space (includes U+0085, excludes U+FEFF), unlike JS `\s`.
 * - `\d`, `\w` and `.` are Unicode / all-but-newline in Oniguruma, ASCII / all-but-line-terminators in JS.
 * - Escaped punctuation that `u` mode rejects (`\'`) becomes the plain character.
 * Possessive quantifiers, atomic groups, back-references, nested classes and word boundaries have no
 * exact JavaScript counterpart and are refused.
 */

export interface TranslatedPattern {
  source: string;
  /**
   * Whether a match may depend on text before where matching starts (lookbehind, anchors): such a
   * pattern cannot be resumed in the middle of a piece of text.
   */
  looksBehind: boolean;
}

const whiteSpace = "\\p{White_Space}";
const wordClass = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
/** Characters `u`-mode JavaScript lets (and sometimes requires) a backslash to escape. */
const syntaxCharacters = new Set("^$\\.*+?()[]{}|/".split(""));

export function translateOnigurumaPattern(pattern: string): TranslatedPattern {
  return new Translator(pattern).run();
}

class Translator {
  private position = 0;
  private out = "";
  private inClass = false;
  private looksBehind = false;
  /** One entry per open group: whether it is case-insensitive. */
  private readonly groups: boolean[] = [];
  private lastWasQuantifier = false;

  constructor(private readonly pattern: string) {}

  run(): TranslatedPattern {
    const pattern = this.pattern;
    let ignoreCase = false;
    if (pattern.startsWith("(?i)")) {
      ignoreCase = true;
      this.position = 4;
    }
    while (this.position < pattern.length) this.step(ignoreCase || this.groups.includes(true));
    if (this.inClass || this.groups.length > 0) this.fail("unbalanced brackets or parentheses");
    return { source: this.out, looksBehind: this.looksBehind };
  }

  private step(ignoreCase: boolean): void {
    const char = this.pattern[this.position] as string;
    if (char === "\\") {
      this.escape();
      return;
    }
    if (this.inClass) {
      this.classChar(char, ignoreCase);
      return;
    }
    const quantifier = char === "*" || char === "+" || char === "?" || char === "}";
    // `x*+` is possessive in Oniguruma, which JavaScript cannot express; `x*?` is lazy in both.
    if (char === "+" && this.lastWasQuantifier) this.fail("possessive quantifier");
    this.lastWasQuantifier = quantifier && !(char === "?" && this.lastWasQuantifier);
    switch (char) {
      case "[":
        this.openClass();
        return;
      case "(":
        this.openGroup();
        return;
      case ")":
        this.groups.pop();
        this.emit(")");
        return;
      case ".":
        this.emit("[^\\n]");
        return;
      case "^":
      case "$":
        this.looksBehind = true;
        this.emit(char);
        return;
      default:
        this.emit(ignoreCase && /\p{L}/u.test(char) ? caseClass(char) : char);
        return;
    }
  }

  private openClass(): void {
    this.inClass = true;
    this.emit("[");
    if (this.pattern[this.position] === "^") this.emit("^");
  }

  private classChar(char: string, ignoreCase: boolean): void {
    if (char === "]") {
      this.inClass = false;
      this.emit("]");
      return;
    }
    if (char === "[") this.fail("nested character class or POSIX bracket");
    if (char === "&" && this.pattern[this.position + 1] === "&") this.fail("class intersection (&&)");
    if (ignoreCase && char === "-") this.fail("range in a case-insensitive class");
    // Inside a class a letter's case variants go in bare.
    if (ignoreCase && /\p{L}/u.test(char)) {
      this.emit(caseClass(char).replace(/^\[|\]$/g, ""));
      return;
    }
    this.emit(char);
  }

  private openGroup(): void {
    const rest = this.pattern.slice(this.position);
    const prefixes: [string, boolean][] = [
      ["(?i:", true],
      ["(?:", false],
      ["(?=", false],
      ["(?!", false],
      ["(?<=", false],
      ["(?<!", false],
    ];
    for (const [prefix, ignoreCase] of prefixes) {
      if (!rest.startsWith(prefix)) continue;
      if (prefix.startsWith("(?<")) this.looksBehind = true;
      this.groups.push(ignoreCase);
      this.out += ignoreCase ? "(?:" : prefix;
      this.position += prefix.length;
      return;
    }
    const named = /^\(\?<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest);
    if (named) {
      // The name is irrelevant to splitting; JavaScript and Oniguruma name groups alike.
      this.groups.push(false);
      this.out += "(?:";
      this.position += named[0].length;
      return;
    }
    if (rest.startsWith("(?")) this.fail(`group ${rest.slice(0, 4)}`);
    this.groups.push(false);
    this.emit("(");
  }

  private escape(): void {
    const next = this.pattern[this.position + 1];
    if (next === undefined) this.fail("trailing backslash");
    this.position += 2;
    this.lastWasQuantifier = false;
    const next2 = next as string;
    switch (next2) {
      case "s":
        this.append(whiteSpace);
        return;
      case "S":
        this.append(this.inClass ? this.fail("\\S inside a class") : "\\P{White_Space}");
        return;
      case "d":
        this.append("\\p{Nd}");
        return;
      case "D":
        this.append("\\P{Nd}");
        return;
      case "w":
        this.append(this.inClass ? wordClass : `[${wordClass}]`);
        return;
      case "W":
        this.append(this.inClass ? this.fail("\\W inside a class") : `[^${wordClass}]`);
        return;
      case "p":
      case "P":
        this.property(next2);
        return;
      case "r":
      case "n":
      case "t":
      case "f":
      case "v":
        this.append(`\\${next2}`);
        return;
      case "x":
      case "u":
        this.codePoint(next2);
        return;
      default:
        this.literalEscape(next2);
        return;
    }
  }

  private property(kind: string): void {
    const match = /^\{(\^?)([A-Za-z_=]+)\}/.exec(this.pattern.slice(this.position));
    if (!match) this.fail(`\\${kind} without {Name}`);
    const [whole, negate, name] = match as RegExpExecArray;
    this.position += whole.length;
    const negated = (kind === "P") !== (negate === "^");
    this.append(`\\${negated ? "P" : "p"}{${javascriptPropertyName(name as string)}}`);
  }

  private codePoint(kind: string): void {
    const rest = this.pattern.slice(this.position);
    const braced = /^\{([0-9A-Fa-f]+)\}/.exec(rest);
    if (braced) {
      this.position += braced[0].length;
      this.append(`\\u{${braced[1]}}`);
      return;
    }
    const digits = kind === "x" ? 2 : 4;
    const plain = new RegExp(`^[0-9A-Fa-f]{${digits}}`).exec(rest);
    if (!plain) this.fail(`\\${kind} escape`);
    this.position += digits;
    this.append(`\\${kind}${(plain as RegExpExecArray)[0]}`);
  }

  private literalEscape(char: string): void {
    if (/[0-9]/.test(char)) this.fail("back-reference or octal escape");
    if (/[A-Za-z]/.test(char)) this.fail(`\\${char}`);
    if (syntaxCharacters.has(char) || (this.inClass && char === "-")) {
      this.append(`\\${char}`);
      return;
    }
    this.append(char);
  }

  private emit(text: string): void {
    this.out += text;
    this.position += 1;
  }

  private append(text: string): void {
    this.out += text;
  }

  private fail(what: string): never {
    throw new Error(
      `unsupported regex construct (${what}) in pre-tokenizer pattern ${JSON.stringify(this.pattern)}`,
    );
  }
}

/** Oniguruma takes script names bare (`\p{Han}`); JavaScript wants `Script=Han` for those. */
function javascriptPropertyName(name: string): string {
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, "u");
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  throw new Error(`unsupported Unicode property \\p{${name}} in a pre-tokenizer pattern`);
}

const caseClasses = new Map<string, string>();

/**
 * The characters matching `char` case-insensitively, as a class: JavaScript's `iu` matching and
 * Oniguruma's both use Unicode simple case folding for single characters (`s` ~ `S` ~ `ſ`).
 */
function caseClass(char: string): string {
  let cached = caseClasses.get(char);
  if (cached === undefined) {
    const matcher = new RegExp(`^${char}$`, "iu");
    const variants = new Set([char, char.toLowerCase(), char.toUpperCase()]);
    // Folding partners outside the plain upper/lower pair all live in the BMP.
    for (let code = 0; code < 0x10000; code++) {
      if (code >= 0xd800 && code < 0xe000) continue;
      const candidate = String.fromCharCode(code);
      if (matcher.test(candidate)) variants.add(candidate);
    }
    cached =
      variants.size === 1 ? char : `[${[...variants].filter((variant) => variant.length === 1).join("")}]`;
    caseClasses.set(char, cached);
  }
  return cached;
}
