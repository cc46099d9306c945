/**
 * A small push/pull queue that ends when its signal aborts: the bridge between
 * event callbacks and the async generators of server-streaming handlers.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | undefined;
  #done = false;

  constructor(signal?: AbortSignal) {
    if (signal?.aborted) this.#done = true;
    signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  push(item: T): void {
    if (this.#done) return;
    this.#items.push(item);
    this.#wake?.();
  }

  close(): void {
    this.#done = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      while (this.#items.length > 0) yield this.#items.shift() as T;
      if (this.#done) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
