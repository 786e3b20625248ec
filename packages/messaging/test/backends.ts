import type { Db } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { createTestDatabase, requireServer } from "@plexus/testing";

/** A storage backend the integration suites run on: in-memory PGlite always, Postgres when up. */
export interface Backend {
  readonly kind: "pglite" | "postgres";
  readonly available: boolean;
  /** Opens a fresh storage (PGlite in memory, or a new Postgres database). */
  open(): Promise<OpenedStorage>;
}

export interface OpenedStorage {
  readonly storage: Storage;
  /** A Db for a new service schema (unique name per call). */
  service(prefix?: string): Promise<Db>;
  close(): Promise<void>;
}

let counter = 0;

function opened(storage: Storage, cleanup: () => Promise<void>): OpenedStorage {
  return {
    storage,
    service: (prefix = "svc") => storage.forService(`${prefix}_${++counter}`, []),
    close: cleanup,
  };
}

export async function backends(): Promise<Backend[]> {
  const postgresUp = await requireServer("postgres");
  return [
    {
      kind: "pglite",
      available: true,
      async open() {
        const storage = await openStorage({});
        return opened(storage, () => storage.close());
      },
    },
    {
      kind: "postgres",
      available: postgresUp,
      async open() {
        const database = await createTestDatabase({ prefix: "plexus_msg" });
        try {
          const storage = await openStorage({ databaseUrl: database.url, poolMax: 8 });
          return opened(storage, async () => {
            await storage.close();
            await database.drop();
          });
        } catch (error) {
          await database.drop();
          throw error;
        }
      },
    },
  ];
}
