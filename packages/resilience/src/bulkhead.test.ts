import { Code, PlexusError } from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { createBulkhead, type BulkheadRejectEvent } from "./bulkhead.ts";
import { rejectionKindOf } from "./errors.ts";
import { execute } from "./policy.ts";

function gated() {
  const gates: (() => void)[] = [];
  const started: number[] = [];
  let n = 0;
  const op = () => {
    const id = ++n;
    started.push(id);
    return new Promise<number>((resolve) => gates.push(() => resolve(id)));
  };
  return { gates, started, op };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("bulkhead", () => {
  it("runs at most maxConcurrent, queues up to maxQueue (FIFO), refuses the rest at once", async () => {
    const clock = createFakeClock(0);
    const rejects: BulkheadRejectEvent[] = [];
    const bulkhead = createBulkhead({
      maxConcurrent: 2,
      maxQueue: 2,
      clock,
      onReject: (e) => rejects.push(e),
    });
    const g = gated();
    const calls = Array.from({ length: 5 }, () => execute(bulkhead, g.op).catch((e: unknown) => e));
    await flush();
    expect(g.started).toEqual([1, 2]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([2, 2]);
    const refused = await calls[4];
    expect((refused as PlexusError).code).toBe(Code.Unavailable);
    expect(rejectionKindOf(refused)).toBe("bulkhead-full");
    expect(rejects).toEqual([{ kind: "bulkhead-full", active: 2, queued: 2 }]);
    g.gates[0]!();
    await flush();
    expect(g.started).toEqual([1, 2, 3]); // the first waiter got the slot
    g.gates[1]!();
    await flush();
    expect(g.started).toEqual([1, 2, 3, 4]);
    g.gates[2]!();
    g.gates[3]!();
    expect(await Promise.all(calls.slice(0, 4))).toEqual([1, 2, 3, 4]);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it("fails a queued call after the queue timeout", async () => {
    const clock = createFakeClock(0);
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 100, clock });
    const g = gated();
    void execute(bulkhead, g.op);
    const queued = execute(bulkhead, g.op).catch((e: unknown) => e);
    await clock.advanceAsync(100);
    expect(rejectionKindOf(await queued)).toBe("bulkhead-queue-timeout");
    expect(bulkhead.queued).toBe(0);
    expect(g.started).toEqual([1]);
  });

  it("a queued call waits no longer than its deadline", async () => {
    const clock = createFakeClock(0);
    const bulkhead = createBulkhead({
      maxConcurrent: 1,
      maxQueue: 1,
      queueTimeoutMs: 1_000,
      clock,
    });
    void execute(bulkhead, gated().op);
    const queued = execute(bulkhead, gated().op, { deadline: 30 }).catch((e: unknown) => e);
    await clock.advanceAsync(30);
    const error = (await queued) as PlexusError;
    expect(error.code).toBe(Code.DeadlineExceeded);
  });

  it("a queued call leaves the queue when its caller cancels", async () => {
    const clock = createFakeClock(0);
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    const g = gated();
    void execute(bulkhead, g.op);
    const controller = new AbortController();
    const queued = execute(bulkhead, g.op, controller.signal).catch((e: unknown) => e);
    controller.abort(new PlexusError(Code.Canceled, "gone"));
    expect(((await queued) as PlexusError).code).toBe(Code.Canceled);
    expect(bulkhead.queued).toBe(0);
    g.gates[0]!();
    await flush();
    expect(bulkhead.active).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("releases the slot when the operation fails", async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1 });
    await execute(bulkhead, async () => {
      throw new Error("boom");
    }).catch(() => {});
    expect(bulkhead.active).toBe(0);
    expect(await execute(bulkhead, async () => "ok")).toBe("ok");
  });
});
