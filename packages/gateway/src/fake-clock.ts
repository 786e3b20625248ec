import type { Clock } from "@plexus/core";

/** A manual {@link Clock} for tests: time moves only when `advance` is called. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** Creates a fake clock starting at `startMs` (epoch ms). Used by this package's tests. */
export function createFakeClock(startMs = Date.UTC(2030, 0, 1)): FakeClock {
  let now = startMs;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  function fireDue(): void {
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of timers)
        if (entry[1].at <= now && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) return;
      timers.delete(due[0]);
      due[1].callback();
    }
  }
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      fireDue();
    },
    set(ms) {
      now = ms;
      fireDue();
    },
  };
}
