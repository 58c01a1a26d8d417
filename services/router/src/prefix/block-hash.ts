/**
 * A 53-bit string hash (cyrb53: two 32-bit multiply-xorshift lanes, public domain) over a character
 * range, seeded by a previous hash so hashes chain. 53 bits because the result stays a plain JS number
 * (exact Map key, no BigInt); collisions need ~2^26 distinct blocks per index to become likely, far
 * above the 100k–2M blocks we track. It plays the role xxHash64 plays in KubeAI and GIE: a fast
 * non-cryptographic hash; nothing outside this process compares our hashes, so compatibility with
 * xxHash64's exact values buys nothing.
 */
export function hashRange(text: string, start: number, end: number, seed: number): number {
  const seedLow = seed >>> 0;
  const seedHigh = Math.floor(seed / 4_294_967_296) >>> 0;
  let h1 = 0xdeadbeef ^ seedLow;
  let h2 = 0x41c6ce57 ^ seedHigh;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2_654_435_761);
    h2 = Math.imul(h2 ^ code, 1_597_334_677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2_246_822_507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3_266_489_909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2_246_822_507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3_266_489_909);
  return 4_294_967_296 * (2_097_151 & h2) + (h1 >>> 0);
}

/** Hash of a whole string, for keys and ring positions. */
export function hashString(text: string, seed = 0): number {
  return hashRange(text, 0, text.length, seed);
}

/**
 * Chained hashes of the prompt's full blocks of `blockChars` characters: block i's hash covers the
 * whole prefix up to it, so equal hashes mean equal prefixes (GIE's approximate prefix scorer and
 * vLLM's block hashes both chain). A trailing partial block is left out, as engines cache only full
 * blocks. `seed` carries what must separate otherwise equal prompts (the LoRA adapter).
 */
export function blockHashes(prompt: string, blockChars: number, maxBlocks: number, seed = 0): number[] {
  const count = Math.min(Math.floor(prompt.length / blockChars), maxBlocks);
  const hashes = new Array<number>(count);
  let previous = seed;
  for (let block = 0; block < count; block++) {
    previous = hashRange(prompt, block * blockChars, (block + 1) * blockChars, previous);
    hashes[block] = previous;
  }
  return hashes;
}
