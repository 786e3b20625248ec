/**
 * Runs async functions one at a time, in call order. PGlite is a single connection whose session
 * state (the current role and search_path) we switch between services, so "switch role, then
 * run the statement or the whole transaction" must never interleave with another caller.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(ignore, ignore);
    return result;
  }
}

function ignore(): void {}
