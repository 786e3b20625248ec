import { AsyncLocalStorage } from "node:async_hooks";
import {
  Code,
  PlexusError,
  type BrokerSubscription,
  type CloudEvent,
  type DeadLetterInput,
  type Delivery,
} from "@plexus/core";
import { createFakeClock } from "@plexus/testing";
import { describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../test/test-events.ts";
import { createEvent } from "./create-event.ts";
import { createMemoryBroker } from "./memory-broker.ts";

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function event(subject = "o-1"): CloudEvent {
  return createEvent(OrderPlacedSchema, { orderId: subject }, { source: "/orders", subject });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A subscription that records what it got; `fail` decides per delivery whether to throw. */
function recorder(group: string, fail: (e: CloudEvent, d: Delivery) => boolean = () => false) {
  const handled: { id: string; attempt: number }[] = [];
  const dead: DeadLetterInput[] = [];
  const subscription: BrokerSubscription = {
    group,
    types: ["test.orders.v1.*"],
    handler: async (e, d) => {
      handled.push({ id: e.id, attempt: d.attempt });
      if (fail(e, d)) throw new Error(`boom ${d.attempt}`);
    },
    deadLetter: async (letter) => {
      dead.push(letter);
    },
  };
  return { subscription, handled, dead };
}

describe("memory broker", () => {
  it("fans out across groups and shares the work within a group", async () => {
    const broker = createMemoryBroker();
    const a1 = recorder("billing");
    const a2 = recorder("billing");
    const b = recorder("notifications");
    await broker.subscribe(a1.subscription);
    await broker.subscribe(a2.subscription);
    await broker.subscribe(b.subscription);
    const events = Array.from({ length: 10 }, (_, i) => event(`o-${i}`));
    await Promise.all(events.map((e) => broker.publish(e)));

    const ids = events.map((e) => e.id).sort();
    const billing = [...a1.handled, ...a2.handled].map((h) => h.id).sort();
    expect(billing).toEqual(ids); // each event once in the group
    expect(a1.handled.length).toBeGreaterThan(0); // both members worked
    expect(a2.handled.length).toBeGreaterThan(0);
    expect(b.handled.map((h) => h.id).sort()).toEqual(ids); // every group gets every event
    await broker.close();
  });

  it("routes by exact type and prefix; no subscriber means nothing to wait for", async () => {
    const broker = createMemoryBroker();
    const seen: string[] = [];
    await broker.subscribe({
      group: "shipping",
      types: ["test.orders.v1.OrderShipped"],
      handler: async (e) => void seen.push(e.type),
      deadLetter: async () => {},
    });
    await broker.publish(event()); // OrderPlaced: no group wants it
    expect(seen).toEqual([]);
    await broker.close();
  });

  it("resolves publish only once every group acked", async () => {
    const broker = createMemoryBroker();
    const gate = deferred();
    await broker.subscribe(recorder("fast").subscription);
    await broker.subscribe({
      ...recorder("slow").subscription,
      handler: () => gate.promise,
    });
    let published = false;
    const publishing = broker.publish(event()).then(() => (published = true));
    await flush();
    expect(published).toBe(false);
    gate.resolve();
    await publishing;
    expect(published).toBe(true);
    await broker.close();
  });

  it("redelivers a nacked event after an exponential, jittered backoff", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0.5 });
    const r = recorder("billing", (_e, d) => d.attempt < 3);
    await broker.subscribe({ ...r.subscription, backoff: { initialMs: 100, maxMs: 10_000 } });
    const publishing = broker.publish(event());
    await flush();
    expect(r.handled.map((h) => h.attempt)).toEqual([1]);
    await clock.advanceAsync(49); // first delay: 0.5 × 100 = 50 ms
    expect(r.handled).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(r.handled.map((h) => h.attempt)).toEqual([1, 2]);
    await clock.advanceAsync(99); // second delay: 0.5 × 200 = 100 ms
    expect(r.handled).toHaveLength(2);
    await clock.advanceAsync(1);
    expect(r.handled.map((h) => h.attempt)).toEqual([1, 2, 3]);
    await publishing;
    expect(r.dead).toEqual([]);
    await broker.close();
  });

  it("reads a message once: every group and attempt get the same frozen copy, not the publisher's", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0 });
    const seen: CloudEvent[] = [];
    const handler = (fail: boolean) => async (e: CloudEvent, d: Delivery) => {
      seen.push(e);
      if (fail && d.attempt < 2) throw new Error("again");
    };
    const deadLetter = async (): Promise<void> => {};
    const types = ["test.orders.v1.*"];
    await broker.subscribe({ group: "billing", types, handler: handler(true), deadLetter });
    await broker.subscribe({ group: "notifications", types, handler: handler(false), deadLetter });
    const published = event();
    const publishing = broker.publish(published);
    await flush();
    await clock.advanceAsync(100);
    await publishing;
    expect(seen).toHaveLength(3); // billing twice, notifications once
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
    expect(seen[0]).not.toBe(published);
    expect(seen[0]).toEqual(published);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(Object.isFrozen(seen[0]?.data)).toBe(true);
    expect(Object.isFrozen(published.data)).toBe(false);
    await broker.close();
  });

  it("dead-letters after maxDeliveries, and publish resolves once it is parked", async () => {
    const clock = createFakeClock(1_000);
    const broker = createMemoryBroker({ clock, random: () => 1 - Number.EPSILON });
    const r = recorder("billing", () => true);
    await broker.subscribe({ ...r.subscription, maxDeliveries: 3, backoff: { initialMs: 10 } });
    const e = event();
    const publishing = broker.publish(e);
    await clock.advanceAsync(1_000);
    await publishing;
    expect(r.handled.map((h) => h.attempt)).toEqual([1, 2, 3]);
    expect(r.dead).toEqual([
      {
        group: "billing",
        event: e,
        reason: "boom 3",
        attempts: 3,
        firstFailureAt: 1_000,
        lastFailureAt: 1_000 + 9 + 19, // delays: ~10, ~20 (full jitter near 1)
      },
    ]);
    await broker.close();
  });

  it("redelivers after a handler failure's pushback instead of the backoff, then backs off from the start", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0.5 });
    const handled: number[] = [];
    await broker.subscribe({
      group: "billing",
      types: ["*"],
      backoff: { initialMs: 100, maxMs: 10_000 },
      handler: async (_e, d) => {
        handled.push(clock.now());
        // A callee that is rate limited says when to come back (core's retryAfterMs).
        if (d.attempt === 1) {
          throw new PlexusError(Code.Unavailable, "busy", { metadata: { retryAfterMs: "3000" } });
        }
        if (d.attempt === 2) throw new Error("blip");
      },
      deadLetter: async () => {},
    });
    const publishing = broker.publish(event());
    await clock.advanceAsync(10_000);
    await publishing;
    expect(handled).toEqual([0, 3_000, 3_050]); // pushback 3 s, then the first backoff (0.5 × 100)
    await broker.close();
  });

  it("dead-letters at once on a 'do not retry' pushback, deliveries left or not", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0.5 });
    const r = recorder("billing");
    let calls = 0;
    await broker.subscribe({
      ...r.subscription,
      maxDeliveries: 5,
      handler: async () => {
        calls++;
        throw new PlexusError(Code.Unavailable, "gone", { metadata: { retryAfterMs: "-1" } });
      },
    });
    const publishing = broker.publish(event());
    await clock.advanceAsync(1_000);
    await publishing;
    expect(calls).toBe(1);
    expect(r.dead).toEqual([expect.objectContaining({ reason: "gone", attempts: 1 })]);
    await broker.close();
  });

  it("gRFC A6's backoff brings its cap of 5 deliveries, and handlers see it", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0.5 });
    const seen: number[] = [];
    const r = recorder("billing", (_e, d) => {
      seen.push(d.maxDeliveries);
      return true;
    });
    await broker.subscribe({ ...r.subscription, maxDeliveries: 8, backoff: { jitter: "grpc" } });
    const publishing = broker.publish(event());
    await clock.advanceAsync(60_000);
    await publishing;
    expect(r.handled.map((h) => h.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(seen).toEqual([5, 5, 5, 5, 5]);
    expect(r.dead).toEqual([expect.objectContaining({ attempts: 5 })]);
    await broker.close();
  });

  it("never drops a message whose dead-lettering fails: it retries parking it", async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker({ clock, random: () => 0.5 });
    let storeUp = false;
    const parked: DeadLetterInput[] = [];
    await broker.subscribe({
      group: "billing",
      types: ["*"],
      maxDeliveries: 1,
      backoff: { initialMs: 100 },
      handler: async () => {
        throw new Error("handler down");
      },
      deadLetter: async (letter) => {
        if (!storeUp) throw new Error("store down");
        parked.push(letter);
      },
    });
    let published = false;
    const publishing = broker.publish(event()).then(() => (published = true));
    await clock.advanceAsync(1_000);
    expect(published).toBe(false);
    storeUp = true;
    await clock.advanceAsync(60_000);
    await publishing;
    expect(parked).toHaveLength(1);
    expect(parked[0]?.reason).toBe("handler down");
    await broker.close();
  });

  it("dead-letters a malformed envelope with the raw payload, never calling the handler", async () => {
    const broker = createMemoryBroker();
    const r = recorder("billing");
    await broker.subscribe(r.subscription);
    await broker.publishRaw("test.orders.v1.OrderPlaced", '{"specversion":"1.0","id":""}');
    await broker.publishRaw("test.orders.v1.OrderPlaced", new Uint8Array([0x6e, 0x6f]));
    expect(r.handled).toEqual([]);
    expect(r.dead.map((d) => [d.raw, d.attempts, d.event])).toEqual([
      ['{"specversion":"1.0","id":""}', 0, undefined],
      ["no", 0, undefined],
    ]);
    expect(r.dead[0]?.reason).toMatch(/^malformed envelope: id must not be empty/);
    expect(r.dead[1]?.reason).toMatch(/not JSON/);
    await broker.close();
  });

  it("refuses to publish an invalid event", async () => {
    const broker = createMemoryBroker();
    const bad = { ...event(), time: "not a time" };
    await expect(broker.publish(bad)).rejects.toMatchObject({ code: Code.InvalidArgument });
    await broker.close();
  });

  it("closes a member gracefully: in-flight finishes, later events wait for a new member", async () => {
    const broker = createMemoryBroker();
    const gate = deferred();
    let finished = 0;
    const handle = await broker.subscribe({
      ...recorder("billing").subscription,
      handler: async () => {
        await gate.promise;
        finished += 1;
      },
    });
    const first = broker.publish(event("o-1"));
    await flush();
    let closed = false;
    const closing = handle.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false); // waits for the handler in flight
    gate.resolve();
    await closing;
    expect(finished).toBe(1);
    await first;

    // The group has no member now: its events wait rather than being dropped.
    let secondDone = false;
    const second = broker.publish(event("o-2")).then(() => (secondDone = true));
    await flush();
    expect(secondDone).toBe(false);
    const later = recorder("billing");
    await broker.subscribe(later.subscription);
    await second;
    expect(later.handled).toHaveLength(1);
    await broker.close();
  });

  it("rejects waiting publishes on abort, close and destroy", async () => {
    const broker = createMemoryBroker();
    const handle = await broker.subscribe(recorder("billing").subscription);
    await handle.close(); // the group is known but has no member: publishes wait
    const controller = new AbortController();
    const aborted = broker.publish(event(), { signal: controller.signal });
    controller.abort(new Error("relay closing"));
    await expect(aborted).rejects.toThrow("relay closing");

    const pending = broker.publish(event());
    await broker.close();
    await expect(pending).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(broker.publish(event())).rejects.toBeInstanceOf(PlexusError);

    const other = createMemoryBroker();
    await (await other.subscribe(recorder("billing").subscription)).close();
    const lost = other.publish(event());
    other.destroy();
    await expect(lost).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("destroy abandons in-flight handlers: their signal aborts, their outcome is ignored", async () => {
    const broker = createMemoryBroker();
    const gate = deferred();
    let signal: AbortSignal | undefined;
    await broker.subscribe({
      ...recorder("billing").subscription,
      handler: async (_e, d) => {
        signal = d.signal;
        await gate.promise;
      },
    });
    const publishing = broker.publish(event());
    await flush();
    broker.destroy();
    await expect(publishing).rejects.toMatchObject({ code: Code.Unavailable });
    expect(signal?.aborted).toBe(true);
    gate.resolve();
    await flush();
  });

  it("runs handlers in the subscriber's async context, not the publisher's", async () => {
    const als = new AsyncLocalStorage<string>();
    const broker = createMemoryBroker();
    let seen: string | undefined = "unset";
    await broker.subscribe({
      ...recorder("billing").subscription,
      handler: async () => {
        seen = als.getStore();
      },
    });
    await als.run("publisher's transaction", () => broker.publish(event()));
    expect(seen).toBeUndefined();
    await broker.close();
  });

  it("validates subscriptions", async () => {
    const broker = createMemoryBroker();
    const base = recorder("billing").subscription;
    await expect(broker.subscribe({ ...base, group: "Bad Group" })).rejects.toThrow(TypeError);
    await expect(broker.subscribe({ ...base, types: [] })).rejects.toThrow(TypeError);
    await expect(broker.subscribe({ ...base, maxDeliveries: 0 })).rejects.toThrow(RangeError);
    await expect(broker.subscribe({ ...base, concurrency: 1.5 })).rejects.toThrow(RangeError);
    await broker.close();
  });
});
