/** Counts running operations so `close()` can wait for them before closing the database. */
export class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await fn();
    } finally {
      this.#count--;
      if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves once no operation is running. */
  drained(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
