import type { ModelDeployment } from "./types.js";

/** Where pvc:// sources are mounted, read-only, one directory per claim. */
export const pvcMountRoot = "/mnt/pvc";

export type ParsedSource = { kind: "hub"; repo: string } | { kind: "pvc"; claim: string; path: string };

/** hf://org/name → the hub repo id; pvc://claim/dir → a claim and a path inside it. */
export function parseSource(source: string): ParsedSource {
  if (source.startsWith("hf://")) return { kind: "hub", repo: source.slice("hf://".length) };
  if (source.startsWith("pvc://")) {
    const rest = source.slice("pvc://".length);
    const slash = rest.indexOf("/");
    const claim = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    return { kind: "pvc", claim, path };
  }
  // The CRD's pattern admits only those two schemes; anything else is a bare hub id.
  return { kind: "hub", repo: source };
}

/** What the engine is given on its command line: a hub repo id, or the local path of a mounted claim. */
export function engineReference(source: string): string {
  const parsed = parseSource(source);
  if (parsed.kind === "hub") return parsed.repo;
  return parsed.path ? `${pvcMountRoot}/${parsed.claim}/${parsed.path}` : `${pvcMountRoot}/${parsed.claim}`;
}

/** Every claim a ModelDeployment reads weights from (model, tokenizer, adapters), each once, in order. */
export function sourceClaims(md: ModelDeployment): string[] {
  const sources = [
    md.spec.model.source,
    md.spec.model.tokenizer,
    ...(md.spec.adapters ?? []).map((a) => a.source),
  ];
  const claims: string[] = [];
  for (const source of sources) {
    if (!source) continue;
    const parsed = parseSource(source);
    if (parsed.kind === "pvc" && !claims.includes(parsed.claim)) claims.push(parsed.claim);
  }
  return claims;
}
