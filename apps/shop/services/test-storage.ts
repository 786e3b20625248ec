import type { Db, Migration } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { createTestDatabase, requireServer } from "@plexus/testing";

/** Where a service test's tables live. */
export interface StorageBackend {
  readonly kind: "pglite" | "postgres";
  /** False when the backend's server is not running: the suite is skipped, not failed. */
  readonly available: boolean;
}

/**
 * PGlite always; Postgres (real concurrency: row locks, blocked inserts) when it runs. For
 * `describe.each(await storageBackends())`.
 */
export async function storageBackends(): Promise<readonly StorageBackend[]> {
  const postgresUp = await requireServer("postgres");
  return [
    { kind: "pglite", available: true },
    { kind: "postgres", available: postgresUp },
  ];
}

/** One service's database for a test suite, on one backend. */
export interface ServiceTestStorage {
  readonly storage: Storage;
  /** The service's database, migrated. */
  readonly db: Db;
  /** Closes the storage and drops the throwaway Postgres database, if any. */
  close(): Promise<void>;
}

/**
 * Opens `service`'s database on `kind`: an in-memory PGlite, or a throwaway Postgres database
 * named after `prefix` (dropped by `close`, also when opening fails half-way).
 */
export async function openServiceTestStorage(
  kind: StorageBackend["kind"],
  prefix: string,
  service: { readonly name: string; readonly migrations: readonly Migration[] },
): Promise<ServiceTestStorage> {
  const database = kind === "postgres" ? await createTestDatabase({ prefix }) : undefined;
  let storage: Storage | undefined;
  const close = async (): Promise<void> => {
    await storage?.close();
    await database?.drop();
  };
  try {
    storage = database
      ? await openStorage({ databaseUrl: database.url, poolMax: 8 })
      : await openStorage({});
    const db = await storage.forService(service.name, service.migrations);
    return { storage, db, close };
  } catch (error) {
    await close();
    throw error;
  }
}
