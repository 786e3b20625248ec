/**
 * One pass of some work at a time, however often it is asked for: a request while a pass runs
 * asks for exactly one more pass after it, so a burst of wake-ups (commits, nudges, polls) costs
 * at most two passes and never two at once. The outbox relay, the saga poller and the projection
 * runner each run their read this way.
 */
export class CoalescedRun {
  readonly #pass: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;

  /** `pass` must not reject: it handles (logs) its own failures. */
  constructor(pass: () => Promise<void>) {
    this.#pass = pass;
  }

  /** Starts a pass now, or asks for one more after the one in flight; resolves when that one ends. */
  request(): Promise<void> {
    this.#again = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Resolves when no pass runs (at once when none does). */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (this.#again) {
      this.#again = false;
      await this.#pass();
    }
  }
}
