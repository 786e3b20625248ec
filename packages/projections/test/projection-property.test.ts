import type { Db } from "@plexus/core";
import {
  createProjectionRunner,
  ProjectionApplyError,
  rebuildProjection,
  type ProjectionRunner,
} from "@plexus/projections";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  append,
  counted,
  fixtureMigrations,
  fixtureProjection,
  folded,
  foldOfLog,
  ignored,
  testEvent,
} from "./fixture.ts";

/*
 * The runner's promise, as a property: whatever interleaving of appends (several per
 * transaction, some of other types), looks by two runners (two replicas), crashes (an apply that
 * throws mid-batch; a runner replaced by a new one, as after a process restart), rebuilds (some
 * interrupted between batches, then resumed or started over) — the projection shows a prefix of
 * the fold of the log at every quiet moment, and the whole fold once a runner caught up: every
 * event of its types applied once, in log order.
 */

let storage: Storage;
let db: Db;

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService("folding", fixtureMigrations);
}, 60_000);

afterAll(async () => {
  await storage?.close();
});

class InjectedFailure extends Error {
  constructor() {
    super("injected failure mid-batch");
  }
}

type Command =
  | { kind: "append"; events: ("counted" | "ignored")[] }
  | { kind: "look"; runner: 0 | 1 }
  | { kind: "crash"; runner: 0 | 1; afterApplies: number }
  | { kind: "restart"; runner: 0 | 1 }
  | { kind: "rebuild"; stopAfterApplies: number | undefined; resume: boolean }
  | { kind: "together"; first: Command; second: Command };

const runnerIndex = fc.constantFrom<0 | 1>(0, 1);
const single: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant("append" as const),
    events: fc.array(fc.constantFrom<"counted" | "ignored">("counted", "counted", "ignored"), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
  fc.record({ kind: fc.constant("look" as const), runner: runnerIndex }),
  fc.record({
    kind: fc.constant("crash" as const),
    runner: runnerIndex,
    afterApplies: fc.nat(4),
  }),
  fc.record({ kind: fc.constant("restart" as const), runner: runnerIndex }),
  fc.record({
    kind: fc.constant("rebuild" as const),
    stopAfterApplies: fc.option(fc.nat(4), { nil: undefined }),
    resume: fc.boolean(),
  }),
);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: single },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("together" as const), first: single, second: single }),
  },
);

/** An injected failure, as the runner and the rebuild throw it: the cause of an apply's error. */
const injected = (error: unknown): boolean =>
  error instanceof ProjectionApplyError && error.cause instanceof InjectedFailure;

it("shows the fold of its log, whatever the interleaving of appends, crashes and rebuilds", async () => {
  let eventSeq = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { minLength: 1, maxLength: 14 }),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      async (commands, batchSizes) => {
        await db.query("TRUNCATE test_events RESTART IDENTITY");
        await db.query("UPDATE folded SET ids = ''");
        await db.query("DELETE FROM plexus_projections").catch(() => undefined);
        /** Applies until the next injected failure; undefined: none pending. */
        let appliesBeforeFailure: number | undefined;
        let onApply: (() => void) | undefined;
        const projection = fixtureProjection({
          beforeApply() {
            onApply?.();
            if (appliesBeforeFailure === undefined) return;
            if (appliesBeforeFailure-- === 0) {
              appliesBeforeFailure = undefined;
              throw new InjectedFailure();
            }
          },
        });
        const clock = createFakeClock(0);
        const newRunner = (i: 0 | 1): ProjectionRunner =>
          createProjectionRunner({ db, projection, clock, batchSize: batchSizes[i] });
        const runners: [ProjectionRunner, ProjectionRunner] = [newRunner(0), newRunner(1)];
        await Promise.all(runners.map((r) => r.start()));

        async function run(c: Command): Promise<void> {
          switch (c.kind) {
            case "append":
              await db.transaction(async (tx) => {
                for (const type of c.events) {
                  await append(
                    tx,
                    testEvent(`e${++eventSeq}`, type === "counted" ? counted : ignored),
                  );
                }
              });
              return;
            case "look":
              await runners[c.runner].catchUp();
              return;
            case "crash":
              appliesBeforeFailure = c.afterApplies;
              await runners[c.runner].catchUp();
              appliesBeforeFailure = undefined;
              return;
            case "restart": {
              const replaced = runners[c.runner];
              const runner = newRunner(c.runner);
              runners[c.runner] = runner;
              await replaced.close();
              // A failure injected for another command may hit its first catch-up.
              await runner.start().catch((error: unknown) => {
                if (!injected(error)) throw error;
              });
              return;
            }
            case "rebuild": {
              const stop = new AbortController();
              let left = c.stopAfterApplies;
              onApply =
                left === undefined
                  ? undefined
                  : () => {
                      if (left !== undefined && left-- === 0) stop.abort();
                    };
              await rebuildProjection(db, projection, {
                batchSize: 2,
                resume: c.resume,
                signal: stop.signal,
              }).catch((error: unknown) => {
                if (!stop.signal.aborted && !injected(error)) throw error;
              });
              onApply = undefined;
              return;
            }
            case "together":
              await Promise.all([run(c.first), run(c.second)]);
              return;
          }
        }

        try {
          for (const c of commands) {
            await run(c);
            const log = await foldOfLog(db);
            expect(log.startsWith(await folded(db))).toBe(true);
          }
          await runners[0].catchUp();
          expect(await folded(db)).toBe(await foldOfLog(db));
        } finally {
          await Promise.all(runners.map((r) => r.close()));
        }
      },
    ),
    { numRuns: 60 },
  );
}, 120_000);
