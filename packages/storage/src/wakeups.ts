import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@plexus/core";

/** Channel names: short and plain, so `plexus_<channel>` is a valid Postgres channel as it is. */
const channelPattern = /^[a-z][a-z0-9_]{0,39}$/;

/** Throws a TypeError when `channel` cannot name a wake-up channel (`Sql.notify`, `Db.listen`). */
export function assertChannel(channel: string): void {
  if (!channelPattern.test(channel)) {
    throw new TypeError(
      `invalid notification channel "${channel}": use 1-40 lowercase letters, digits and _ ` +
        `(starting with a letter)`,
    );
  }
}

/**
 * The wake-up listeners of one storage, per service schema and channel. A notification only marks
 * its key due; one microtask then calls each due key's listeners once, so a burst of commits costs
 * each listener one call, and a listener never runs inside the committer's call (or context).
 */
export class Wakeups {
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #due = new Set<string>();
  readonly #logger: Logger | undefined;
  #scheduled = false;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  /** Adds a listener, bound to the caller's async context; the returned function removes it. */
  add(schema: string, channel: string, wake: () => void): () => void {
    assertChannel(channel);
    const key = keyOf(schema, channel);
    let set = this.#listeners.get(key);
    if (!set) this.#listeners.set(key, (set = new Set()));
    const bound = AsyncLocalStorage.bind(wake);
    set.add(bound);
    return () => {
      set.delete(bound);
      if (set.size === 0 && this.#listeners.get(key) === set) this.#listeners.delete(key);
    };
  }

  /** Marks `schema`'s `channel` due: its listeners are called once, in a microtask. */
  wake(schema: string, channel: string): void {
    const key = keyOf(schema, channel);
    if (!this.#listeners.has(key)) return;
    this.#due.add(key);
    this.#schedule();
  }

  /** Wakes every listener: notifications may have been missed (a lost LISTEN connection). */
  wakeAll(): void {
    for (const key of this.#listeners.keys()) this.#due.add(key);
    if (this.#due.size > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#deliver());
  }

  #deliver(): void {
    this.#scheduled = false;
    const due = [...this.#due];
    this.#due.clear();
    for (const key of due) {
      for (const wake of this.#listeners.get(key) ?? []) {
        try {
          wake();
        } catch (error) {
          this.#logger?.warn({ err: error, channel: key }, "a wake-up listener threw");
        }
      }
    }
  }
}

/** Schemas and channels never contain a space. */
function keyOf(schema: string, channel: string): string {
  return `${schema} ${channel}`;
}
