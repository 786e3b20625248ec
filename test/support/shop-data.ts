import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import {
  createTestDatabase,
  removeKafkaPrefix,
  serverUrl,
  type TestDatabase,
} from "@plexus/testing";

/** Where a black-box test's shop keeps its data. */
export type ShopStorage = "pglite" | "postgres";

/**
 * The storage the e2e shops of this run use: `PLEXUS_E2E_STORAGE` (`pglite`, the default, or
 * `postgres`), which vitest.config.ts sets per project so every e2e file runs on both without
 * saying so. On `postgres` the server is the one of `@plexus/testing` (`PLEXUS_TEST_POSTGRES_URL`,
 * else 127.0.0.1:5432); vitest.config.ts already decided it is reachable (or skipped loudly).
 */
export function shopStorage(): ShopStorage {
  const value = process.env["PLEXUS_E2E_STORAGE"] ?? "pglite";
  if (value !== "pglite" && value !== "postgres") {
    throw new Error(`PLEXUS_E2E_STORAGE must be "pglite" or "postgres", got "${value}"`);
  }
  return value;
}

/** The broker of the e2e shops of this run's host (the monolith topology). */
export type ShopBroker = "memory" | "kafka";

/**
 * The broker the e2e shops of this run use: `PLEXUS_E2E_BROKER` (`memory`, the default, or
 * `kafka`), which vitest.config.ts sets for the `e2e:kafka` project. On `kafka` the cluster is the
 * one of `@plexus/testing` (`KAFKA_BROKERS`, else 127.0.0.1:9092), reachable or skipped loudly.
 */
export function shopBroker(): ShopBroker {
  const value = process.env["PLEXUS_E2E_BROKER"] ?? "memory";
  if (value !== "memory" && value !== "kafka") {
    throw new Error(`PLEXUS_E2E_BROKER must be "memory" or "kafka", got "${value}"`);
  }
  return value;
}

/**
 * A shop's topics and consumer groups on Kafka, named by its data directory like its database:
 * a restart on the same data resumes its groups, and no two shops (nor reruns) share any.
 */
function kafkaPrefix(dataDir: string): string {
  return `e2e-${basename(dataDir)}.`;
}

/**
 * The database of each data directory this test file made on Postgres. A shop's data is named by
 * its data directory on both storages, so a restart (`startShop({ dataDir })`) or a second process
 * on the same data finds the same database without the test knowing which storage it runs on.
 */
const databases = new Map<string, Promise<TestDatabase>>();

/**
 * Creates the data of a shop not started yet: a fresh temporary data directory and, on Postgres, a
 * fresh database bound to it (dropped by {@link removeDataDir}). For tests that start several
 * processes on the same data at once; `startShop()` without a `dataDir` calls it itself.
 */
export async function createDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), "plexus-shop-"));
  await databaseOf(dataDir);
  return dataDir;
}

/**
 * The environment that points a process at a shop's data: `PLEXUS_DATA_DIR`, plus `DATABASE_URL`
 * on Postgres (creating the data directory's database on first use), plus on Kafka the cluster
 * and the shop's own prefix (`KAFKA_BROKERS`, `PLEXUS_KAFKA_TOPIC_PREFIX`). What `startShop`
 * passes, and what a test passes to a command that works on the same data (e.g. the history
 * rebuild script).
 */
export async function dataEnv(dataDir: string): Promise<Record<string, string>> {
  const database = await databaseOf(dataDir);
  return {
    PLEXUS_DATA_DIR: dataDir,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(shopBroker() === "kafka"
      ? {
          KAFKA_BROKERS: new URL(serverUrl("kafka")).host,
          PLEXUS_KAFKA_TOPIC_PREFIX: kafkaPrefix(dataDir),
        }
      : {}),
  };
}

/**
 * Removes a shop's data: its data directory, on Postgres its database, on Kafka its topics and
 * groups. The shop must have stopped.
 */
export async function removeDataDir(dataDir: string): Promise<void> {
  const database = databases.get(dataDir);
  databases.delete(dataDir);
  await Promise.all([
    rm(dataDir, { recursive: true, force: true }),
    database?.then((db) => db.drop()),
    shopBroker() === "kafka" ? removeKafkaPrefix(kafkaPrefix(dataDir)) : undefined,
  ]);
}

function databaseOf(dataDir: string): Promise<TestDatabase | undefined> {
  if (shopStorage() === "pglite") return Promise.resolve(undefined);
  let database = databases.get(dataDir);
  if (!database) {
    database = createTestDatabase({ prefix: "plexus_e2e" });
    // A failed creation is not remembered: the next start tries again and reports its own error.
    void database.catch(() => databases.delete(dataDir));
    databases.set(dataDir, database);
  }
  return database;
}
