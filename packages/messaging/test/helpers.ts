import type { DeliveryInterceptor, PublishInterceptor } from "@plexus/messaging";
import type { FakeClock } from "@plexus/testing";

/** A publish interceptor calling `published` after each publish the broker took. */
export function afterPublish(published: () => void): PublishInterceptor {
  return (next) =>
    async function notifyPublished(call) {
      await next(call);
      published();
    };
}

/** One delivery as {@link recordDeliveries} saw it end. */
export interface RecordedDelivery {
  readonly attempt: number;
  readonly outcome: "processed" | "duplicate" | "failed";
}

/** A delivery interceptor appending each delivery's attempt and outcome to `into`. */
export function recordDeliveries(into: RecordedDelivery[]): DeliveryInterceptor {
  return (next) =>
    async function recordDelivery(call) {
      const { attempt } = call.delivery;
      try {
        const outcome = await next(call);
        into.push({ attempt, outcome });
        return outcome;
      } catch (error) {
        into.push({ attempt, outcome: "failed" });
        throw error;
      }
    };
}

/** Lets queued callbacks and promise reactions run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits (bounded, ~10 s) until `condition` holds: for work that runs on real I/O. */
export async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("condition not reached");
}

/**
 * Advances a fake clock step by step, letting real I/O (database) run in between, until
 * `promise` settles; returns its outcome. Bounded, so a bug fails the test instead of hanging it.
 */
export async function driveUntilSettled<T>(
  clock: FakeClock,
  promise: Promise<T>,
  stepMs = 100,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  for (let i = 0; i < 2_000 && !settled; i++) {
    await clock.advanceAsync(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (!settled) throw new Error("promise did not settle");
  return watched;
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
