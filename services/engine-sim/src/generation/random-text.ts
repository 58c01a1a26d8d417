/**
 * Deterministic filler text: words from a fixed vocabulary chosen by a seeded PRNG, grouped into
 * capitalised sentences. Same seed, same text.
 */
const WORDS = (
  "the a model engine token cache prefix block request server cluster router gateway replica batch " +
  "queue latency throughput memory layer signal value system user answer question result data " +
  "stream route score policy metric window budget record event reason method field vector index " +
  "is are was can will should may does keeps moves finds sends reads writes holds builds returns " +
  "fast slow large small new old simple stable early late quiet bright clear steady careful " +
  "and or but so because while when then also often rarely only still again together " +
  "of in on for with from to by over under between through after before within"
).split(" ");

export function randomWords(random: () => number, wordCount: number): string {
  const parts: string[] = [];
  let sentenceLength = 0;
  let sentenceTarget = 6 + Math.floor(random() * 10);
  for (let index = 0; index < wordCount; index++) {
    let word = WORDS[Math.floor(random() * WORDS.length)] as string;
    if (sentenceLength === 0) word = word.charAt(0).toUpperCase() + word.slice(1);
    sentenceLength++;
    const endOfSentence = sentenceLength >= sentenceTarget || index === wordCount - 1;
    if (endOfSentence) {
      word += ".";
      sentenceLength = 0;
      sentenceTarget = 6 + Math.floor(random() * 10);
    } else if (random() < 0.06) {
      word += ",";
    }
    parts.push(word);
  }
  return parts.join(" ");
}
