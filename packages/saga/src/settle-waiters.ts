import type { InRoot } from "./execution-env.ts";
import { sagaNotFound } from "./saga-errors.ts";
import { isActiveStatus } from "./saga-status.ts";
import type { SagaView } from "./saga-view.ts";

/** One caller of `settled(id)`. */
interface SettleWaiter {
  resolve(view: SagaView): void;
  reject(reason: unknown): void;
}

/**
 * Callers waiting for sagas to settle (COMPLETED, COMPENSATED, NEEDS_ATTENTION), by saga id. A
 * waiter reads its saga once when it comes, and again each time this orchestrator settles that
 * saga; it leaves when it is resolved, rejected or aborted.
 */
export class SettleWaiters {
  readonly #byId = new Map<string, Set<SettleWaiter>>();
  readonly #read: (id: string) => Promise<SagaView | undefined>;
  readonly #root: InRoot;

  /** `read` is the admin read of a saga; reads run in the orchestrator's context (`root`). */
  constructor(read: (id: string) => Promise<SagaView | undefined>, root: InRoot) {
    this.#read = read;
    this.#root = root;
  }

  /** Resolves once saga `id` is settled; rejects on NotFound, a failed read, or `signal`. */
  wait(id: string, signal: AbortSignal | undefined): Promise<SagaView> {
    const { waiter, settled } = this.#add(id, signal);
    // Registered first, read second: a saga settling in between is not missed.
    void this.#root(async () => {
      try {
        const view = await this.#read(id);
        if (!view) waiter.reject(sagaNotFound(id));
        else if (!isActiveStatus(view.status)) waiter.resolve(view);
      } catch (error) {
        waiter.reject(error);
      }
    });
    return settled;
  }

  /** Saga `id` settled here: its waiters read it (nothing is read when nobody waits). */
  notify(id: string): void {
    if ((this.#byId.get(id)?.size ?? 0) === 0) return;
    void this.#root(async () => {
      try {
        const view = await this.#read(id);
        if (view && !isActiveStatus(view.status)) this.#settle(id, (w) => w.resolve(view));
      } catch (error) {
        this.#settle(id, (w) => w.reject(error));
      }
    });
  }

  rejectAll(reason: unknown): void {
    for (const id of [...this.#byId.keys()]) this.#settle(id, (w) => w.reject(reason));
  }

  #settle(id: string, end: (waiter: SettleWaiter) => void): void {
    for (const waiter of [...(this.#byId.get(id) ?? [])]) end(waiter);
  }

  #add(
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
}
