import type { Db, Migration, NotifyOptions, Sql, SqlResult } from "@plexus/core";
import { validateMigrations } from "./migration-plan.ts";
import { assertServiceName } from "./sql-names.ts";
import { assertNotTransactionControl } from "./statement-guard.ts";
import { transactionClosedError } from "./storage-errors.ts";
import { assertOutsideTransaction, runInTransactionScope } from "./transaction-scope.ts";
import { assertChannel } from "./wakeups.ts";

/** One statement of a service, on the backend's connection or open transaction. */
export type RunStatement = <R>(
  text: string,
  params: readonly unknown[] | undefined,
) => Promise<SqlResult<R>>;

/** What a backend does for a service's `Db`, once the checks both backends share passed. */
export interface ServiceDbBackend {
  /** Whether this process has the database to itself (`Db.exclusive`). */
  readonly exclusive: boolean;
  /** Throws once the storage is closing. */
  assertOpen(): void;
  query: RunStatement;
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  notify(channel: string, options: NotifyOptions | undefined): void;
  listen(channel: string, wake: () => void): Promise<() => void>;
}

/**
 * The checks of `Storage.forService` before it touches the database: a valid name and migration
 * list, an open storage (`assertOpen`), and no transaction of `owner` open around the call.
 */
export function checkForService(
  owner: object,
  name: string,
  migrations: readonly Migration[],
  assertOpen: () => void,
): void {
  assertServiceName(name);
  validateMigrations(name, migrations);
  assertOpen();
  assertOutsideTransaction(owner, name);
}

/**
 * The `Db` of service `schema` on a storage (`owner`): the checks of the Storage contract
 * (transaction control refused, closed storage, use beside an open transaction, channel names),
 * alike on both backends, in front of the backend's own statements.
 */
export function serviceDb(owner: object, schema: string, backend: ServiceDbBackend): Db {
  const outside = (): void => {
    backend.assertOpen();
    assertOutsideTransaction(owner, schema);
  };
  return {
    schema,
    exclusive: backend.exclusive,
    async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]) {
      assertNotTransactionControl(text);
      outside();
      return backend.query<R>(text, params);
    },
    async transaction<T>(fn: (tx: Sql) => Promise<T>) {
      outside();
      return backend.transaction(fn);
    },
    notify(channel, options) {
      assertChannel(channel);
      outside();
      backend.notify(channel, options);
    },
    async listen(channel, wake) {
      assertChannel(channel);
      backend.assertOpen();
      return backend.listen(channel, wake);
    },
  };
}

/** What a transaction's body returned, and the channels it notified (`tx.notify`). */
export interface TransactionBody<T> {
  readonly result: T;
  readonly notified: ReadonlySet<string> | undefined;
  /** Those of `notified` other processes are woken on too (not `local`): NOTIFY'd at commit. */
  readonly everywhere: ReadonlySet<string> | undefined;
}

/**
 * Runs the body `fn` of a transaction of `schema` on `owner`, its statements through `run`
 * (inside the backend's open transaction): `tx` refuses transaction control, and any use once the
 * body ended; the storage refuses being used beside it (`assertOutsideTransaction`).
 */
export async function runTransactionBody<T>(
  owner: object,
  schema: string,
  run: RunStatement,
  fn: (tx: Sql) => Promise<T>,
): Promise<TransactionBody<T>> {
  let open = true;
  let notified: Set<string> | undefined;
  let everywhere: Set<string> | undefined;
  const tx: Sql = {
    query: async <R>(text: string, params?: readonly unknown[]) => {
      assertNotTransactionControl(text);
      if (!open) throw transactionClosedError(schema);
      return run<R>(text, params);
    },
    notify(channel, options) {
      assertChannel(channel);
      if (!open) throw transactionClosedError(schema);
      (notified ??= new Set()).add(channel);
      if (options?.local !== true) (everywhere ??= new Set()).add(channel);
    },
  };
  try {
    const result = await runInTransactionScope(owner, schema, () => fn(tx));
    return { result, notified, everywhere };
  } finally {
    open = false;
  }
}
