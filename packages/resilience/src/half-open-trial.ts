import { CountWindow } from "./sliding-window.ts";

/**
 * The trial of a half-open circuit: `permitted` calls may go through, and their outcomes alone
 * (a window of exactly that many calls) decide whether the circuit closes or opens again.
 */
export class HalfOpenTrial {
  readonly permitted: number;
  /** The trial calls' outcomes. */
  readonly window: CountWindow;
  private permits = 0;

  constructor(permitted: number) {
    if (!(Number.isInteger(permitted) && permitted >= 1)) {
      throw new RangeError(
        "createCircuitBreaker: permittedCallsInHalfOpen must be an integer >= 1",
      );
    }
    this.permitted = permitted;
    this.window = new CountWindow(permitted);
  }

  /** A new trial: every permit available, no outcome recorded. */
  begin(): void {
    this.window.reset();
    this.permits = this.permitted;
  }

  /** Takes a permit; false when every one is out. */
  take(): boolean {
    if (this.permits <= 0) return false;
    this.permits--;
    return true;
  }

  /** A call that proved nothing (ignored) leaves its permit to another. */
  giveBack(): void {
    this.permits++;
  }
}
