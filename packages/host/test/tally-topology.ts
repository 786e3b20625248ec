import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  defineService,
  PlexusError,
  type HealthRegistry,
  type ServiceDefinition,
} from "@plexus/core";
import { createEvent, decodeEventData } from "@plexus/messaging";
import {
  createSagaOrchestrator,
  defineSaga,
  sagaMigrations,
  sagaTraceMigration,
  type SagaOrchestrator,
} from "@plexus/saga";
import type { EdgeFactory, HostSpec } from "@plexus/host";
import { AuditService, EntrySchema, TallyService } from "./tally-contract.ts";

/*
 * The host tests' tiny topology (test support, not a test file):
 * - `tally` adds amounts per key and publishes each entry through its outbox; it orchestrates a
 *   `refund` saga whose second step always refuses, so its first step is compensated;
 * - `audit` consumes the entries into its own table (one dead letter at once for a key starting
 *   with "poison" while `faults.rejectPoison` holds) and counts them;
 * - an edge that answers "edge" and reports what it saw when closed.
 */

/** Switches the tests flip to make the services fail, then recover. */
export const faults = {
  /** The audit consumer refuses (dead-letters) entries whose key starts with "poison". */
  rejectPoison: true,
  /** The refund saga's compensation fails, parking the saga as NEEDS_ATTENTION. */
  compensationFails: true,
  /** The audit service reports itself not ready. */
  auditUnready: false,
};

/** What the test reaches inside the running topology. */
export const probes: {
  sagas?: SagaOrchestrator;
  /** Readiness as the edge saw it while being closed (the host is stopping by then). */
  readyWhileClosing?: Awaited<ReturnType<HealthRegistry["checkReady"]>>;
} = {};

const refundSaga = defineSaga<{ key: string }>({
  name: "refund",
  steps: [
    {
      name: "debit",
      action: async () => "debited",
      compensation: async () => {
        if (faults.compensationFails) {
          throw new PlexusError(Code.Unavailable, "the ledger is down");
        }
      },
      compensationRetry: { maxAttempts: 1, initialDelayMs: 0 },
    },
    {
      name: "credit",
      action: async () => {
        throw new PlexusError(Code.FailedPrecondition, "refused", { reason: "REFUSED" });
      },
      isBusinessFailure: (error) => error.reason === "REFUSED",
    },
  ],
});

const tallyService = defineService({
  name: "tally",
  contract: TallyService,
  migrations: [
    ...sagaMigrations(1),
    sagaTraceMigration(2),
    {
      id: 3,
      name: "tallies",
      sql: "CREATE TABLE tallies (key text PRIMARY KEY, total integer NOT NULL)",
    },
  ],
  create: (env) => {
    const sagas = createSagaOrchestrator({
      db: env.db,
      definitions: [refundSaga],
      clock: env.clock,
      logger: env.logger,
      serviceName: env.name,
      pollIntervalMs: 0,
    });
    probes.sagas = sagas;
    return {
      handlers: {
        add: (entry) =>
          env.outbox.transaction(async (tx) => {
            const { rows } = await tx.query<{ total: number }>(
              `INSERT INTO tallies (key, total) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET total = tallies.total + $2 RETURNING total`,
              [entry.key, entry.amount],
            );
            await env.outbox.add(tx, createEvent(EntrySchema, entry, { source: "/tally" }));
            return { key: entry.key, total: rows[0]!.total };
          }),
      },
      sagas,
      start: async () => {
        await sagas.resumeAll();
      },
      close: () => sagas.close(),
    };
  },
});

const auditService = defineService({
  name: "audit",
  contract: AuditService,
  migrations: [
    {
      id: 1,
      name: "entries",
      sql: "CREATE TABLE entries (event_id text PRIMARY KEY, key text NOT NULL, amount integer NOT NULL)",
    },
  ],
  create: (env) => ({
    handlers: {
      count: async (entry) => {
        const { rows } = await env.db.query<{ total: number }>(
          "SELECT coalesce(sum(amount), 0)::integer AS total FROM entries WHERE key = $1",
          [entry.key],
        );
        return { key: entry.key, total: rows[0]!.total };
      },
    },
    ready: async () => !faults.auditUnready,
    consumers: [
      {
        name: "entries",
        types: ["test.tally.v1.Entry"],
        handle: async (event, tx) => {
          const entry = decodeEventData(EntrySchema, event);
          if (faults.rejectPoison && entry.key.startsWith("poison")) {
            // InvalidArgument: dead-lettered at once, no redelivery.
            throw new PlexusError(Code.InvalidArgument, `refusing ${entry.key}`);
          }
          await tx.query("INSERT INTO entries (event_id, key, amount) VALUES ($1, $2, $3)", [
            event.id,
            entry.key,
            entry.amount,
          ]);
        },
      },
    ],
  }),
});

const edge: EdgeFactory = (env) => ({
  listener: (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("edge");
  },
  close: async () => {
    probes.readyWhileClosing = await env.health.checkReady();
  },
});

export const tallyHost: HostSpec = {
  name: "tally-host",
  services: [tallyService, auditService] as ServiceDefinition<DescService>[],
  edge,
};
