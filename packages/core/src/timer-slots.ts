import { setMaxListeners } from "node:events";
import type { Clock, TimerHandle } from "./clock.ts";
import { Code } from "./code.ts";
import { PlexusError } from "./plexus-error.ts";

/**
 * One pending operation raced against a slot: settled by the operation, or rejected by the slot
 * when it fires first. Linked into its slot so completion unlinks it in O(1).
 */
export class RaceEntry {
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  prev: RaceEntry | undefined = undefined;
  next: RaceEntry | undefined = undefined;
  linkedTo: TimerSlot | undefined = undefined;
}

function noop(): void {}

/**
 * All deadlines that fall in one time slot share one AbortController and one timer. A call that
 * finishes in time costs no timer, no controller and no listener: that is what keeps a timeout
 * under a microsecond when nothing times out. The slot fires at its end, so a deadline is never
 * enforced early and at most `resolutionMs` late.
 */
export class TimerSlot {
  readonly at: number;
  readonly controller = new AbortController();
  readonly signal: AbortSignal;
  private head: RaceEntry | undefined = undefined;
  readonly timer: TimerHandle;

  constructor(at: number, timer: (slot: TimerSlot) => TimerHandle) {
    this.at = at;
    this.signal = this.controller.signal;
    // Every call whose deadline falls in the slot may listen to it: no leak, not a warning.
    setMaxListeners(0, this.signal);
    this.timer = timer(this);
  }

  add(entry: RaceEntry): void {
    entry.linkedTo = this;
    entry.next = this.head;
    if (this.head !== undefined) this.head.prev = entry;
    this.head = entry;
  }

  remove(entry: RaceEntry): void {
    if (entry.linkedTo !== this) return;
    if (entry.prev !== undefined) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
    entry.prev = entry.next = entry.linkedTo = undefined;
  }

  fire(reason: PlexusError): void {
    this.controller.abort(reason);
    for (let entry = this.head; entry !== undefined;) {
      const next = entry.next;
      entry.prev = entry.next = entry.linkedTo = undefined;
      entry.reject(reason);
      entry = next;
    }
    this.head = undefined;
  }
}

/** Signals of live slots, with the time they abort at (and for no other reason). */
const slotTimes = new WeakMap<AbortSignal, TimerSlot>();

/** The slot behind `signal` when it is a pure timer signal (it aborts at `slot.at` and only then). */
export function slotOfSignal(signal: AbortSignal): TimerSlot | undefined {
  return slotTimes.get(signal);
}

/**
 * Why a slot's signal aborts. Under load a slot fires every `resolutionMs`, mostly with no
 * attempt left in it; the stack a fired timer would capture shows only timer internals and cost
 * more than the rest of the slot, so none is captured.
 */
function firedReason(): PlexusError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new PlexusError(Code.DeadlineExceeded, "deadline exceeded");
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The timer slots of one clock and resolution. */
export class TimerSlots {
  private readonly clock: Clock;
  private readonly resolutionMs: number;
  private readonly slots = new Map<number, TimerSlot>();
  private last: TimerSlot | undefined = undefined;

  constructor(clock: Clock, resolutionMs: number) {
    this.clock = clock;
    this.resolutionMs = resolutionMs;
  }

  /** The slot that aborts at the end of the slot `deadline` falls in. */
  slotFor(deadline: number, now: number): TimerSlot {
    const at = Math.ceil(deadline / this.resolutionMs) * this.resolutionMs;
    const last = this.last;
    // Calls in a burst share a slot: one comparison instead of a map lookup.
    if (last !== undefined && last.at === at) return last;
    let slot = this.slots.get(at);
    if (slot === undefined) {
      slot = new TimerSlot(at, (created) =>
        this.clock.setTimeout(() => this.fire(created), at - now),
      );
      this.slots.set(at, slot);
      slotTimes.set(slot.signal, slot);
    }
    this.last = slot;
    return slot;
  }

  private fire(slot: TimerSlot): void {
    this.slots.delete(slot.at);
    if (this.last === slot) this.last = undefined;
    slotTimes.delete(slot.signal);
    slot.fire(firedReason());
  }

  /** How many slots (timers) are pending; for tests. */
  get size(): number {
    return this.slots.size;
  }
}

const byClock = new WeakMap<Clock, Map<number, TimerSlots>>();

/** The shared slots of a clock: every timeout on the same clock and resolution shares timers. */
export function timerSlotsFor(clock: Clock, resolutionMs: number): TimerSlots {
  let byResolution = byClock.get(clock);
  if (byResolution === undefined) {
    byResolution = new Map();
    byClock.set(clock, byResolution);
  }
  let slots = byResolution.get(resolutionMs);
  if (slots === undefined) {
    slots = new TimerSlots(clock, resolutionMs);
    byResolution.set(resolutionMs, slots);
  }
  return slots;
}
