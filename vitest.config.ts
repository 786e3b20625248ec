import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { requireServer } from "./packages/testing/src/index.ts";

/** The black-box suites: the real shop process, started by test/support/shop-process.ts. */
const e2e = "test/e2e/**/*.test.ts";

/**
 * e2e files that run on one storage only, each saying why in its header comment. Every other e2e
 * file runs twice: on the embedded PGlite (`npm start`'s default) and on Postgres (`DATABASE_URL`).
 */
const pgliteOnly = [
  "test/e2e/admin.test.ts",
  "test/e2e/crash.test.ts",
  "test/e2e/conventions.test.ts",
  "test/e2e/credential-limit.test.ts",
  "test/e2e/start-up-failures.test.ts",
  "test/e2e/tracing.test.ts",
];
const postgresOnly = ["test/e2e/replicas.test.ts"];
/**
 * The e2e files that run a third time with the shop on Kafka (the monolith topology, PGlite): the
 * event-driven ones that cost one or two shop starts. Each shop has topics and groups of its own
 * (test/support/shop-data.ts), removed with its data.
 */
const onKafka = ["test/e2e/orders.test.ts", "test/e2e/restart.test.ts"];
/** e2e files about Kafka itself, which run only there. */
const kafkaOnly = ["test/e2e/broker-restart.test.ts"];

/**
 * Bounds of the e2e files, which start shop processes in hooks and tests: generous, as a busy
 * machine can take a minute to start one (they bound a hang; nothing asserts a duration).
 */
const e2eTimeouts = { testTimeout: 60_000, hookTimeout: 120_000 };

/**
 * Every test file runs in a fork of its own, which loads vitest and the dependencies it does not
 * transform (pg, PGlite, OpenTelemetry, …) afresh: Node's on-disk compile cache, inherited by the
 * forks (and the processes tests start), spares compiling them again, ~15% of a unit file here.
 * Node's default directory, the one `plexus up` uses; a NODE_COMPILE_CACHE of the caller wins.
 */
process.env["NODE_COMPILE_CACHE"] ??= join(tmpdir(), "node-compile-cache");

export default defineConfig(async () => {
  // Under CI=true an unreachable Postgres or Kafka fails the run here; elsewhere it prints a loud
  // notice and its project is left out (the convention of @plexus/testing's requireServer).
  const [postgres, kafka] = await Promise.all([requireServer("postgres"), requireServer("kafka")]);
  return {
    test: {
      exclude: ["**/node_modules/**"],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      pool: "forks",
      // A worker per core, not vitest's default of one fewer: on CI's 2 cores that default ran
      // every file one after the other, while an e2e worker mostly waits for the shop it started
      // and a unit file's fork spends seconds starting and importing before its first test.
      maxWorkers: availableParallelism(),
      projects: [
        {
          extends: true,
          test: {
            name: "unit",
            include: [
              "packages/*/src/**/*.test.ts",
              "packages/*/test/**/*.test.ts",
              "apps/**/*.test.ts",
              "test/**/*.test.ts",
              "bench/**/*.test.ts",
            ],
            exclude: ["**/node_modules/**", e2e],
          },
        },
        {
          extends: true,
          test: {
            name: "e2e:pglite",
            ...e2eTimeouts,
            include: [e2e],
            exclude: ["**/node_modules/**", ...postgresOnly, ...kafkaOnly],
            env: { PLEXUS_E2E_STORAGE: "pglite" },
          },
        },
        ...(postgres
          ? [
              {
                extends: true,
                test: {
                  name: "e2e:postgres",
                  ...e2eTimeouts,
                  include: [e2e],
                  exclude: ["**/node_modules/**", ...pgliteOnly, ...kafkaOnly],
                  env: { PLEXUS_E2E_STORAGE: "postgres" },
                },
              },
            ]
          : []),
        ...(kafka
          ? [
              {
                extends: true,
                test: {
                  name: "e2e:kafka",
                  ...e2eTimeouts,
                  include: [...onKafka, ...kafkaOnly],
                  env: { PLEXUS_E2E_STORAGE: "pglite", PLEXUS_E2E_BROKER: "kafka" },
                },
              },
            ]
          : []),
      ],
    },
  };
});
