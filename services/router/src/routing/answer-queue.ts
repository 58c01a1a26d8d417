import { AsyncQueue } from "@strata/kit";

/**
 * Answers of one RouteStream in the order they are ready: most are pushed at once (synchronous
 * routing), a few arrive later (an LLM classifier deciding the model) without holding up the rest.
 * Iteration ends once the input has ended and every awaited answer has been delivered.
 */
export class AnswerQueue<T> extends AsyncQueue<T> {
  private awaited = 0;

  /** Delivers an answer when the promise settles; it must not reject (map errors to answers first). */
  await(answer: Promise<T>): void {
    this.awaited++;
    void answer.then((value) => {
      this.awaited--;
      this.push(value);
    });
  }

  protected override holdsOpen(): boolean {
    return this.awaited > 0;
  }
}
