import { AsyncLocalStorage } from "node:async_hooks";

/** A transaction open in the current async context. `open` turns false when it ends. */
interface OpenTransaction {
  readonly owner: object;
  readonly schema: string;
  open: boolean;
}

const scope = new AsyncLocalStorage<OpenTransaction>();

/**
 * Runs `fn` marked as "inside a transaction of `schema` on `owner`" (a Storage). Work started
 * inside and still running afterwards sees the mark cleared, so it is not refused later.
 */
export async function runInTransactionScope<T>(
  owner: object,
  schema: string,
  fn: () => Promise<T>,
): Promise<T> {
  const marker: OpenTransaction = { owner, schema, open: true };
  try {
    return await scope.run(marker, fn);
  } finally {
    marker.open = false;
  }
}

/**
 * Refuses a statement that bypasses an open transaction of the same Storage. On PGlite, a
 * single connection, such a statement would wait for the transaction that is waiting for it: a
 * silent deadlock. On Postgres it would run outside the transaction (not seeing its writes, not
 * rolled back with it), which is a bug too; refusing on both keeps the backends alike.
 */
export function assertOutsideTransaction(owner: object, schema: string): void {
  const open = scope.getStore();
  if (!open?.open || open.owner !== owner) return;
  if (open.schema === schema) {
    throw new Error(
      `storage: "${schema}" was used directly inside its own transaction; run statements ` +
        `through the tx handle given to transaction(fn) (nested transactions are not supported)`,
    );
  }
  throw new Error(
    `storage: "${schema}" was used inside an open transaction of "${open.schema}"; finish the ` +
      `transaction before calling another service (on the embedded PGlite it would deadlock)`,
  );
}
