import type { SagaView } from "./saga-view.ts";

/** One caller of `settled(id)`. */
export interface SettleWaiter {
  resolve(view: SagaView): void;
  reject(reason: unknown): void;
}

/**
 * Callers waiting for sagas to settle (COMPLETED, COMPENSATED, NEEDS_ATTENTION), by saga id. A
 * waiter leaves the registry when it is resolved, rejected or aborted.
 */
export class SettleWaiters {
  readonly #byId = new Map<string, Set<SettleWaiter>>();

  /** Registers a waiter for `id`; the promise settles through the returned waiter. */
  add(
    id: string,
    signal: AbortSignal | undefined,
  ): { waiter: SettleWaiter; settled: Promise<SagaView> } {
    let waiter!: SettleWaiter;
    const settled = new Promise<SagaView>((resolve, reject) => {
      const set = this.#byId.get(id) ?? new Set<SettleWaiter>();
      this.#byId.set(id, set);
      const onAbort = (): void => waiter.reject(signal?.reason);
      const cleanup = (): void => {
        set.delete(waiter);
        if (set.size === 0 && this.#byId.get(id) === set) this.#byId.delete(id);
        signal?.removeEventListener("abort", onAbort);
      };
      waiter = {
        resolve: (view) => {
          cleanup();
          resolve(view);
        },
        reject: (reason) => {
          cleanup();
          reject(reason instanceof Error ? reason : new Error(String(reason)));
        },
      };
      set.add(waiter);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
    return { waiter, settled };
  }

  has(id: string): boolean {
    return (this.#byId.get(id)?.size ?? 0) > 0;
  }

  resolve(id: string, view: SagaView): void {
    for (const waiter of [...(this.#byId.get(id) ?? [])]) waiter.resolve(view);
  }

  reject(id: string, reason: unknown): void {
    for (const waiter of [...(this.#byId.get(id) ?? [])]) waiter.reject(reason);
  }

  rejectAll(reason: unknown): void {
    for (const id of [...this.#byId.keys()]) this.reject(id, reason);
  }
}
