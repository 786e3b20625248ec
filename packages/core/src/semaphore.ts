/**
 * Bounds how many tasks run at once (sagas executing, a consumer's handlers); waiters are served
 * first come, first served. No timers: a waiter waits as long as it takes.
 */
export class Semaphore {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`concurrency limit must be an integer >= 1, got ${limit}`);
    }
    this.#limit = limit;
  }

  /** Resolves when a slot is free; the caller must `release()` it exactly once. */
  acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
