/** One step of a fallback chain: a provider and the model to ask it for. */
export interface ChainEntry {
  provider: string;
  model: string;
}

/** `openai:gpt-4o` → { provider: "openai", model: "gpt-4o" }; the model may itself hold colons. */
export function parseChainEntry(text: string): ChainEntry | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) return undefined;
  return { provider: text.slice(0, colon), model: text.slice(colon + 1) };
}

export function formatChainEntry(entry: ChainEntry): string {
  return `${entry.provider}:${entry.model}`;
}

/**
 * Which providers a requested model name goes to, in order. An alias names its chain; a name whose
 * prefix is a configured provider (`anthropic:claude-sonnet-4`) goes to that provider alone; every
 * other name goes to the router, as it always has, whose own fallbacks extend the chain as it routes.
 */
export class ModelChains {
  private readonly aliases: ReadonlyMap<string, readonly ChainEntry[]>;

  constructor(
    aliases: Record<string, readonly string[]>,
    private readonly providers: ReadonlySet<string>,
  ) {
    this.aliases = new Map(
      Object.entries(aliases).map(([alias, entries]) => [
        alias,
        entries.map((entry) => parseChainEntry(entry)!),
      ]),
    );
  }

  resolve(model: string): ChainEntry[] {
    const chain = this.aliases.get(model);
    if (chain) return [...chain];
    const direct = parseChainEntry(model);
    if (direct && this.providers.has(direct.provider)) return [direct];
    return [{ provider: "engine", model }];
  }

  /** Alias names, for /v1/models. */
  aliasNames(): string[] {
    return [...this.aliases.keys()];
  }
}
