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
  type DeliveryOutcome,
  type PublishCall,
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

describe("the outbox relay's aroundPublish", () => {
  it("publishes each row inside the wrapper, as a child span of the span that wrote it", async () => {
    const db = await freshDb();
    const { broker, received } = await recordingBroker();
    const calls: PublishCall[] = [];
    let inside = 0;
    const outbox = createOutbox({
      db,
      broker,
      aroundPublish: async (call, publish) => {
        calls.push(call);
        inside++;
        try {
          await publish();
          expect(received).toHaveLength(calls.length); // delivered while the wrapper runs
        } finally {
          inside--;
        }
      },
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

  it("publishes the stored event untouched without a wrapper", async () => {
    const db = await freshDb();
    const { broker, received } = await recordingBroker();
    const outbox = createOutbox({ db, broker });
    await outbox.start();
    const event = placed("o-2");
    await outbox.transaction((tx) => outbox.add(tx, event));
    await outbox.flush();
    expect(received).toEqual([event]);
    await outbox.close();
    await broker.close();
  });
});

describe("the consumer runtime's aroundDelivery", () => {
  /** A runtime whose wrapper records each call, what it settled with, and the handler's trace. */
  async function tracedRuntime(behave: (attempt: number) => void, maxDeliveries = 2) {
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
            handlerTrace = currentContext()?.trace;
            behave(delivery.attempt);
          },
        },
      ],
      aroundDelivery: async (call, handle) => {
        handlerTrace = undefined;
        try {
          const outcome = await handle();
          seen.push({ call, handlerTrace, settled: outcome });
          return outcome;
        } catch (error) {
          const settled = { error, deadLetters: call.deadLetters(error) };
          seen.push({ call, handlerTrace, settled });
          throw error;
        }
      },
    });
    await runtime.start();
    return { runtime, broker, clock, seen };
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
});
