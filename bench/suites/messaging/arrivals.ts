/**
 * What a messaging contender owes the bench: every event it published arrives exactly once.
 * `expect(id)` before publishing returns the promise of its arrival; the consumer side calls
 * `arrived(id)`. A second arrival of an id, an id never published, or an event still missing
 * after `timeoutMs` fails the run loudly (the op throws, or `verify` does).
 */
export class Arrivals {
  readonly #name: string;
  readonly #timeoutMs: number;
  /** Published and not yet arrived, oldest first (a Map keeps insertion order). */
  readonly #waiting = new Map<
    string,
    { resolve: () => void; reject: (e: Error) => void; at: number }
  >();
  readonly #arrived = new Set<string>();
  #published = 0;
  #failure: Error | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(name: string, timeoutMs: number) {
    this.#name = name;
    this.#timeoutMs = timeoutMs;
  }

  /** Registers `id` as about to be published; resolves once it arrived. */
  expect(id: string): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#published += 1;
    // One sweeper for every waiting event, not a timer per event.
    this.#sweeper ??= setInterval(() => this.#sweep(), 1_000).unref();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, at: performance.now() });
    });
  }

  arrived(id: string): void {
    if (this.#arrived.has(id)) return this.#fail(`${id} arrived twice`);
    const waiter = this.#waiting.get(id);
    if (!waiter) return this.#fail(`${id} arrived but was never published`);
    this.#arrived.add(id);
    this.#waiting.delete(id);
    waiter.resolve();
  }

  /** Throws unless every published event arrived exactly once. */
  verify(): void {
    if (this.#failure) throw this.#failure;
    if (this.#waiting.size > 0 || this.#arrived.size !== this.#published) {
      throw new Error(
        `${this.#name}: ${this.#published} published, ${this.#arrived.size} arrived, ` +
          `${this.#waiting.size} missing`,
      );
    }
  }

  get published(): number {
    return this.#published;
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    const oldest = this.#waiting.entries().next().value;
    if (oldest && performance.now() - oldest[1].at > this.#timeoutMs) {
      this.#fail(`${oldest[0]} did not arrive within ${this.#timeoutMs} ms`);
    }
  }

  #fail(reason: string): void {
    this.#failure ??= new Error(`${this.#name}: ${reason}`);
    for (const waiter of this.#waiting.values()) waiter.reject(this.#failure);
    this.#waiting.clear();
  }
}
