import {
  Code,
  PlexusError,
  currentContext,
  formatTraceparent,
  parseTraceparent,
  runInContext,
  type CloudEvent,
  type TraceParent,
} from "@plexus/core";
import {
  createConsumerRuntime,
  createEvent,
  createMemoryBroker,
  createOutbox,
  type DeliveryCall,
  type DeliveryInterceptor,
  type DeliveryOutcome,
  type PublishCall,
  type PublishInterceptor,
} from "@plexus/messaging";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driveUntilSettled } from "./helpers.ts";
import { OrderPlacedSchema } from "./test-events.ts";

const writer = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")!;

/** An OrderPlaced written by the span `writer` (what a handler writing it would stamp). */
function placed(orderId: string): CloudEvent {
  return runInContext({ correlationId: "corr-1", requestId: "r", trace: writer }, () =>
    createEvent(OrderPlacedSchema, { orderId }, { source: "/orders", subject: orderId }),
  );
}

let storage: Storage;
let schemas = 0;
beforeAll(async () => {
  storage = await openStorage({});
});
afterAll(() => storage.close());

const freshDb = () => storage.forService(`hooks_${++schemas}`, []);

/** An in-memory broker with one group recording every event it is delivered. */
async function recordingBroker() {
  const broker = createMemoryBroker();
  const received: CloudEvent[] = [];
  await broker.subscribe({
    group: "audit",
    types: ["*"],
    handler: async (event) => void received.push(event),
    deadLetter: async () => {},
  });
  return { broker, received };
}

/** An interceptor appending `>name` before and `<name` after the inner handlers to `log`. */
function logged<C, R>(
  name: string,
  log: string[],
): (next: (call: C) => Promise<R>) => (call: C) => Promise<R> {
  return (next) => async (call) => {
    log.push(`>${name}`);
    try {
      return await next(call);
    } finally {
      log.push(`<${name}`);
    }
  };
}

describe("the outbox relay's publish interceptors", () => {
  it("publishes each row inside them, as a child span of the span that wrote it", async () => {
    const db = await freshDb();
    const { broker, received } = await recordingBroker();
    const calls: PublishCall[] = [];
    let inside = 0;
    const outbox = createOutbox({
      db,
      broker,
      interceptors: [
        (next) => async (call) => {
          calls.push(call);
          inside++;
          try {
            await next(call);
            expect(received).toHaveLength(calls.length); // delivered while the interceptor runs
          } finally {
            inside--;
          }
        },
      ],
    });
    await outbox.start();
    const event = placed("o-1");
    await outbox.transaction((tx) => outbox.add(tx, event));
    await outbox.flush();

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.event).toEqual(event); // as stored
    expect(call?.broker).toBe("memory");
    expect(call?.trace).toMatchObject({ traceId: writer.traceId, flags: "01" });
    expect(call?.trace.spanId).not.toBe(writer.spanId);
    expect(received).toEqual([{ ...event, traceparent: formatTraceparent(call!.trace) }]);
    expect(inside).toBe(0);
    await outbox.close();
    await broker.close();
  });

  it.each([
    ["none", []],
    ["only pass-through ones", [(next) => next, (next) => next]],
  ] satisfies [string, PublishInterceptor[]][])(
    "publishes the stored event untouched with %s",
    async (_, interceptors) => {
      const db = await freshDb();
      const { broker, received } = await recordingBroker();
      const outbox = createOutbox({ db, broker, interceptors });
      await outbox.start();
      const event = placed("o-2");
      await outbox.transaction((tx) => outbox.add(tx, event));
      await outbox.flush();
      expect(received).toEqual([event]);
      await outbox.close();
      await broker.close();
    },
  );

  it("runs the first listed outermost, and publishes the call an interceptor rewrote", async () => {
    const db = await freshDb();
    const { broker, received } = await recordingBroker();
    const log: string[] = [];
    const tagged: PublishInterceptor = (next) => (call) =>
      next({ ...call, event: { ...call.event, source: "/orders/eu" } });
    const outbox = createOutbox({
      db,
      broker,
      interceptors: [logged("outer", log), tagged, logged("inner", log)],
    });
    await outbox.start();
    const event = placed("o-6");
    await outbox.transaction((tx) => outbox.add(tx, event));
    await outbox.flush();

    expect(log).toEqual([">outer", ">inner", "<inner", "<outer"]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ id: event.id, source: "/orders/eu" });
    expect(received[0]?.traceparent).not.toBe(event.traceparent); // re-stamped all the same
    await outbox.close();
    await broker.close();
  });

  it("an interceptor that throws fails the publish: recorded, and the row published later", async () => {
    const db = await freshDb();
    const { broker, received } = await recordingBroker();
    let refusals = 1;
    const refuseOnce: PublishInterceptor = (next) => async (call) => {
      if (refusals-- > 0) throw new Error("quota exceeded");
      await next(call);
    };
    const outbox = createOutbox({
      db,
      broker,
      interceptors: [refuseOnce],
      backoff: { initialMs: 1, maxMs: 1 },
    });
    await outbox.start();
    const event = placed("o-7");
    await outbox.transaction((tx) => outbox.add(tx, event));
    await outbox.flush();

    expect(received.map((e) => e.id)).toEqual([event.id]);
    const { rows } = await db.query<{ attempts: number; last_error: string; sent: boolean }>(
      "SELECT attempts, last_error, sent_at IS NOT NULL AS sent FROM plexus_outbox",
    );
    expect(rows).toEqual([{ attempts: 1, last_error: "quota exceeded", sent: true }]);
    await outbox.close();
    await broker.close();
  });
});

describe("the consumer runtime's delivery interceptors", () => {
  /**
   * A runtime whose last interceptor records each call, what it settled with, and the handler's
   * trace; `outer` run around it.
   */
  async function tracedRuntime(
    behave: (attempt: number) => void,
    maxDeliveries = 2,
    outer: DeliveryInterceptor[] = [],
  ) {
    const db = await freshDb();
    const clock = createFakeClock(Date.parse("2026-05-01T00:00:00Z"));
    const broker = createMemoryBroker({ clock, random: () => 0 });
    const seen: {
      call: DeliveryCall;
      handlerTrace: TraceParent | undefined;
      settled: DeliveryOutcome | { error: unknown; deadLetters: boolean };
    }[] = [];
    /** The trace of the context the handler ran in, last time. */
    let handlerTrace: TraceParent | undefined;
    let handled = 0;
    const runtime = createConsumerRuntime({
      service: "billing",
      db,
      broker,
      clock,
      consumers: [
        {
          name: "charge",
          types: ["*"],
          maxDeliveries,
          backoff: { initialMs: 100 },
          handle: async (_event, _tx, delivery) => {
            handled++;
            handlerTrace = currentContext()?.trace;
            behave(delivery.attempt);
          },
        },
      ],
      interceptors: [
        ...outer,
        (next) => async (call) => {
          handlerTrace = undefined;
          try {
            const outcome = await next(call);
            seen.push({ call, handlerTrace, settled: outcome });
            return outcome;
          } catch (error) {
            const settled = { error, deadLetters: call.deadLetters(error) };
            seen.push({ call, handlerTrace, settled });
            throw error;
          }
        },
      ],
    });
    await runtime.start();
    return { runtime, broker, clock, seen, handled: () => handled };
  }

  it("runs the handler inside, under the call's span: a child of the published span", async () => {
    const { runtime, broker, seen } = await tracedRuntime(() => {});
    const event = placed("o-3");
    await broker.publish(event);
    await broker.publish(event); // a redelivery the inbox recognises

    expect(seen.map((s) => s.settled)).toEqual(["processed", "duplicate"]);
    const [first] = seen;
    expect(first?.call).toMatchObject({
      service: "billing",
      broker: "memory",
      event,
      delivery: { group: "billing.charge", attempt: 1, maxDeliveries: 2 },
    });
    expect(first?.handlerTrace).toEqual(first?.call.trace);
    expect(first?.call.trace.traceId).toBe(writer.traceId);
    expect(first?.call.trace.spanId).not.toBe(writer.spanId);
    await runtime.close();
    await broker.close();
  });

  it("tells which failure dead-letters: the last delivery, or an unusable event at once", async () => {
    const { runtime, broker, clock, seen } = await tracedRuntime((attempt) => {
      throw new Error(`down (attempt ${attempt})`);
    });
    await driveUntilSettled(clock, broker.publish(placed("o-4")));
    expect(seen.map((s) => [s.call.delivery.attempt, s.settled])).toEqual([
      [1, { error: new Error("down (attempt 1)"), deadLetters: false }],
      [2, { error: new Error("down (attempt 2)"), deadLetters: true }],
    ]);

    // The replay of the parked event is a delivery too.
    const [letter] = await runtime.deadLetters.list();
    await expect(runtime.deadLetters.replay(letter!.id)).rejects.toThrow(/attempt 3/);
    expect(seen.at(-1)?.call.delivery).toMatchObject({ attempt: 3, maxDeliveries: 3 });
    expect(seen.at(-1)?.settled).toMatchObject({ deadLetters: true });
    await runtime.close();
    await broker.close();
  });

  it("an unusable event dead-letters on its first delivery", async () => {
    const { runtime, broker, seen } = await tracedRuntime(() => {
      throw new PlexusError(Code.InvalidArgument, "data does not decode");
    }, 5);
    await broker.publish(placed("o-5"));
    expect(seen.map((s) => [s.call.delivery.attempt, s.settled])).toEqual([
      [1, { error: expect.any(PlexusError), deadLetters: true }],
    ]);
    expect(await runtime.deadLetters.count()).toBe(1);
    await runtime.close();
    await broker.close();
  });

  it("runs the first listed outermost", async () => {
    const log: string[] = [];
    const { runtime, broker, seen } = await tracedRuntime(() => void log.push("handler"), 2, [
      logged("outer", log),
      logged("inner", log),
    ]);
    await broker.publish(placed("o-8"));
    expect(log).toEqual([">outer", ">inner", "handler", "<inner", "<outer"]);
    expect(seen.map((s) => s.settled)).toEqual(["processed"]);
    await runtime.close();
    await broker.close();
  });

  it("an interceptor may answer for the handler: the delivery is acked, the handler never runs", async () => {
    const skip: DeliveryInterceptor = () => async () => "duplicate";
    const { runtime, broker, seen, handled } = await tracedRuntime(() => {}, 2, [skip]);
    await broker.publish(placed("o-9"));
    expect(handled()).toBe(0);
    expect(seen).toEqual([]); // the inner interceptors were skipped too
    expect(await runtime.deadLetters.count()).toBe(0);
    await runtime.close();
    await broker.close();
  });

  it("an interceptor that throws fails the delivery: redelivered, then dead-lettered", async () => {
    const attempts: number[] = [];
    const refuse: DeliveryInterceptor = () => async (call: DeliveryCall) => {
      attempts.push(call.delivery.attempt);
      throw new Error("refused");
    };
    const { runtime, broker, clock, handled } = await tracedRuntime(() => {}, 2, [refuse]);
    await driveUntilSettled(clock, broker.publish(placed("o-10")));
    expect(attempts).toEqual([1, 2]);
    expect(handled()).toBe(0);
    const [letter] = await runtime.deadLetters.list();
    expect(letter).toMatchObject({ group: "billing.charge", error: "refused", attempts: 2 });
    await runtime.close();
    await broker.close();
  });
});
