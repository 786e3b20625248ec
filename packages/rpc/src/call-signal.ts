import type { Clock, TimerHandle } from "@plexus/core";
import { deadlineExceeded } from "./abort.ts";

/**
 * The signal of one call when it has a deadline or more than one reason to abort: it aborts
 * when the deadline passes or when any source signal (the caller's, the parent call's) aborts.
 * It listens as an EventListener object rather than through per-call closures.
 */
export class CallSignal {
  readonly controller = new AbortController();
  private readonly clock: Clock;
  private readonly sources: readonly AbortSignal[];
  private readonly timer: TimerHandle;
  private readonly timed: boolean;

  constructor(clock: Clock, timeoutMs: number | undefined, sources: readonly AbortSignal[]) {
    this.clock = clock;
    this.sources = sources;
    for (const source of sources) source.addEventListener("abort", this, { once: true });
    this.timed = timeoutMs !== undefined;
    this.timer = this.timed
      ? clock.setTimeout(() => this.controller.abort(deadlineExceeded()), timeoutMs!)
      : undefined;
  }

  handleEvent(event: Event): void {
    this.controller.abort((event.target as AbortSignal).reason);
  }

  release(): void {
    if (this.timed) this.clock.clearTimeout(this.timer);
    for (const source of this.sources) source.removeEventListener("abort", this);
  }
}
