import { randomUUID } from "node:crypto";
import type { Message } from "@bufbuild/protobuf";
import {
  Code,
  PlexusError,
  type Broker,
  type BrokerSubscription,
  type CloudEvent,
  type DeadLetterInput,
  type Delivery,
} from "@plexus/core";
import { createEvent, decodeEventData } from "@plexus/messaging";
import { afterEach, describe, expect, it } from "vitest";
import { orderPlacedRevision } from "./conformance-contract.ts";

/** One connection to the broker under test, as one process of a service would hold it. */
export interface ConformanceConnection {
  readonly broker: Broker;
  /**
   * Sends `payload` as-is on the stream of `type`, as a foreign or buggy producer would: the
   * adapter must dead-letter it on delivery without blocking what follows it.
   */
  publishRaw(type: string, payload: string): Promise<void>;
  /** Plays a crash of the connection's process: nothing more is acked or committed. */
  destroy(): void;
}

/** A broker adapter, as the conformance suite drives it. */
export interface ConformanceAdapter {
  /** The adapter's name in the suite's title. */
  readonly name: string;
  /**
   * A new connection. Connections of one adapter share the messages (a network broker's
   * processes); the memory broker, being in one process, returns one connection at a time.
   */
  connect(): Promise<ConformanceConnection>;
  /**
   * Whether a message outlives the crash of the process consuming it (a network broker's does;
   * the memory broker's survives through the outbox, which this suite does not involve).
   */
  readonly durable: boolean;
  /** Bound of each wait for deliveries. Default: 15 000 ms. */
  readonly waitMs?: number;
  /**
   * A server of the test's own that the suite stops and starts again ("a broker restart
   * mid-stream"), never a shared one other suites use; called once, when that case runs. Without
   * it the case is skipped: the memory broker lives in its process and has no server to restart.
   */
  readonly restartable?: () => Promise<RestartableServer>;
}

/** A broker server the conformance suite may stop and start, and connections to it. */
export interface RestartableServer {
  /** A new connection to this server (the suite closes it). */
  connect(): Promise<ConformanceConnection>;
  /** Stops the server; resolves once it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same address and data; resolves once it accepts connections. */
  start(): Promise<void>;
}

/** A handler's view of one delivery. */
interface Seen {
  readonly event: CloudEvent;
  readonly attempt: number;
}

const quickBackoff = { initialMs: 10, maxMs: 40 };

/**
 * The behaviour every broker adapter keeps (core's `Broker` contract), run unchanged against
 * each: publish and consume, competing members and fan-out across groups, per-key order,
 * redelivery with backoff then dead letters, poison messages, context in the envelope, schema
 * evolution (an added field, read by consumers on the old and the new contract), graceful drain,
 * and (for durable brokers) redelivery after a consumer died without acking.
 *
 * Every test uses streams and groups of its own, so reruns against a shared cluster do not meet
 * earlier runs' messages. Waits are bounded and nothing asserts a duration.
 */
export function describeBrokerConformance(adapter: ConformanceAdapter): void {
  const waitMs = adapter.waitMs ?? 15_000;
  const run = randomUUID().slice(0, 8);
  let streamCount = 0;
  const open: ConformanceConnection[] = [];

  async function connect(): Promise<ConformanceConnection> {
    const connection = await adapter.connect();
    open.push(connection);
    return connection;
  }

  /** A fresh stream: its namespace, a type in it, and a group name. */
  function fresh(): { stream: string; type: string; group: (name: string) => string } {
    streamCount += 1;
    const stream = `conformance.r${run}s${streamCount}.v1`;
    return {
      stream,
      type: `${stream}.OrderPlaced`,
      group: (name) => `${name}-${run}-${streamCount}`,
    };
  }

  function event(type: string, subject: string, data: CloudEvent["data"] = {}): CloudEvent {
    return {
      specversion: "1.0",
      id: randomUUID(),
      source: "/conformance",
      type,
      time: new Date().toISOString(),
      subject,
      datacontenttype: "application/json",
      dataschema: "urn:plexus:conformance:OrderPlaced",
      data: { orderId: subject, ...data },
    };
  }

  /** A subscription recording what it got; `handle` may fail or hold a delivery. */
  function recorder(
    group: string,
    types: readonly string[],
    handle: (event: CloudEvent, delivery: Delivery) => Promise<void> = async () => {},
    settings: Partial<BrokerSubscription> = {},
  ) {
    const seen: Seen[] = [];
    const dead: DeadLetterInput[] = [];
    const subscription: BrokerSubscription = {
      group,
      types,
      backoff: quickBackoff,
      ...settings,
      handler: async (e, d) => {
        seen.push({ event: e, attempt: d.attempt });
        await handle(e, d);
      },
      deadLetter: async (letter) => void dead.push(letter),
    };
    return { subscription, seen, dead, ids: () => seen.map((s) => s.event.id) };
  }

  async function until(what: string, condition: () => boolean): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function gate(): { promise: Promise<void>; open: () => void } {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    return { promise, open };
  }

  describe(`broker conformance: ${adapter.name}`, () => {
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.broker.close()));
    });

    it("delivers published events to a subscriber, envelope and context intact", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const r = recorder(group("billing"), [`${stream}.*`]);
      await broker.subscribe(r.subscription);
      const sent = [
        { ...event(type, "o-1"), traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` },
        { ...event(type, "o-2"), correlationid: "corr-1234" },
        // A producer on a newer schema: the field its consumers do not know yet still arrives.
        event(type, "o-3", { giftWrap: true, lines: [{ sku: "s-1", quantity: 2 }] }),
      ];
      const published = Promise.all(sent.map((e) => broker.publish(e)));
      await until("3 deliveries", () => r.seen.length >= 3);
      await published;
      const byId = new Map(r.seen.map((s) => [s.event.id, s.event]));
      for (const e of sent) expect(byId.get(e.id)).toEqual(e);
      expect(r.seen.every((s) => s.attempt === 1)).toBe(true);
    });

    it("shares a group's events among its members and fans out to every group", async () => {
      const { stream, group } = fresh();
      const { broker } = await connect();
      const types = [`${stream}.*`];
      const both = gate();
      const a1 = recorder(group("billing"), types, () => both.promise);
      const a2 = recorder(group("billing"), types, () => both.promise);
      const b = recorder(group("notify"), types);
      await broker.subscribe(a1.subscription);
      await broker.subscribe(a2.subscription);
      await broker.subscribe(b.subscription);
      const sent = Array.from({ length: 24 }, (_, i) => event(`${stream}.OrderPlaced`, `o-${i}`));
      const published = Promise.all(sent.map((e) => broker.publish(e)));
      // Every member of the group gets work: each holds its deliveries until both have some.
      await until("both members of the group to get events", () => {
        if (a1.seen.length > 0 && a2.seen.length > 0) both.open();
        return a1.seen.length > 0 && a2.seen.length > 0;
      });
      const ids = sent.map((e) => e.id).sort();
      const group1 = (): string[] => [...new Set([...a1.ids(), ...a2.ids()])].sort();
      await until("the group to get every event", () => group1().length === ids.length);
      await until("the other group to get every event", () => new Set(b.ids()).size === ids.length);
      await published;
      expect(group1()).toEqual(ids);
      expect([...new Set(b.ids())].sort()).toEqual(ids);
    });

    it("loses nothing when a member joins mid-stream (a rebalance)", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const slow = async (): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 5));
      };
      const first = recorder(group("billing"), [`${stream}.*`], slow);
      await broker.subscribe(first.subscription);
      const sent = Array.from({ length: 60 }, (_, i) => event(type, `o-${i % 12}`));
      const published = Promise.all(sent.map((e) => broker.publish(e)));
      await until("the first deliveries", () => first.seen.length > 0);
      const second = recorder(group("billing"), [`${stream}.*`], slow);
      await broker.subscribe(second.subscription);
      const handled = (): Set<string> => new Set([...first.ids(), ...second.ids()]);
      await until("every event, across the rebalance", () => handled().size === sent.length);
      await published;
    });

    it("gives a consumer on the old contract an event of a newer one: known fields intact, the added one ignored", async () => {
      const { stream, group } = fresh();
      const { broker } = await connect();
      const [older, newer] = [orderPlacedRevision(stream, 1), orderPlacedRevision(stream, 2)];
      const decoded: Message[] = [];
      const r = recorder(group("billing"), [`${stream}.*`], async (e) => {
        // What a consumer built on revision 1 does with each delivery (protobuf JSON data).
        decoded.push(decodeEventData(older, e));
      });
      await broker.subscribe(r.subscription);
      const sent = createEvent(
        newer,
        { orderId: "o-1", totalCents: 1250n, giftMessage: "happy birthday" },
        { source: "/conformance", subject: "o-1" },
      );
      await broker.publish(sent);
      await until("the delivery", () => decoded.length === 1 || r.dead.length > 0);
      expect(r.dead).toEqual([]);
      expect(r.seen.map((s) => s.attempt)).toEqual([1]);
      expect(decoded[0]).toMatchObject({ orderId: "o-1", totalCents: 1250n });
      expect(decoded[0]).not.toHaveProperty("giftMessage");
      // Ignored, not lost: the envelope carried it, and a consumer on revision 2 reads it.
      expect(r.seen[0]?.event).toEqual(sent);
      expect(decodeEventData(newer, r.seen[0]!.event)).toMatchObject({
        giftMessage: "happy birthday",
      });
    });

    it("gives a consumer on a newer contract an event of the old one: the added field takes its default", async () => {
      const { stream, group } = fresh();
      const { broker } = await connect();
      const [older, newer] = [orderPlacedRevision(stream, 1), orderPlacedRevision(stream, 2)];
      const decoded: Message[] = [];
      const r = recorder(group("billing"), [`${stream}.*`], async (e) => {
        decoded.push(decodeEventData(newer, e));
      });
      await broker.subscribe(r.subscription);
      const sent = createEvent(
        older,
        { orderId: "o-2", totalCents: 990n },
        { source: "/conformance", subject: "o-2" },
      );
      await broker.publish(sent);
      await until("the delivery", () => decoded.length === 1 || r.dead.length > 0);
      expect(r.dead).toEqual([]);
      // The old producer's data has no such field at all (protobuf JSON, int64 as a string).
      expect(r.seen[0]?.event.data).toEqual({ orderId: "o-2", totalCents: "990" });
      expect(decoded[0]).toMatchObject({ orderId: "o-2", totalCents: 990n, giftMessage: "" });
    });

    it("hands a twice-published event to the handler twice, same id, for the inbox to absorb", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const r = recorder(group("billing"), [`${stream}.*`]);
      await broker.subscribe(r.subscription);
      const e = event(type, "o-1");
      await Promise.all([broker.publish(e), broker.publish(e)]);
      await until("both copies", () => r.seen.length === 2);
      expect(r.ids()).toEqual([e.id, e.id]);
    });

    it("keeps the order of an aggregate's events", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const r = recorder(group("history"), [`${stream}.*`], async () => {
        // Handlers that take varying time must not reorder a subject's events.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      });
      await broker.subscribe({ ...r.subscription, concurrency: 4 });
      const sent: CloudEvent[] = [];
      for (let i = 0; i < 10; i++) {
        for (const subject of ["o-a", "o-b", "o-c"]) {
          const e = event(type, subject, { step: i });
          sent.push(e);
          await broker.publish(e);
        }
      }
      await until("every event", () => new Set(r.ids()).size === sent.length);
      for (const subject of ["o-a", "o-b", "o-c"]) {
        const firsts = [
          ...new Set(r.seen.filter((s) => s.event.subject === subject).map((s) => s.event.id)),
        ];
        expect(firsts).toEqual(sent.filter((e) => e.subject === subject).map((e) => e.id));
      }
    });

    it("redelivers a failed event with backoff until it succeeds", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const r = recorder(group("billing"), [`${stream}.*`], async (_e, d) => {
        if (d.attempt < 3) throw new Error(`boom ${d.attempt}`);
      });
      await broker.subscribe(r.subscription);
      const published = broker.publish(event(type, "o-1"));
      await until("the third delivery", () => r.seen.length >= 3);
      await published;
      expect(r.seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      expect(r.dead).toEqual([]);
    });

    it("dead-letters an event after maxDeliveries, and goes on with the next ones", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const doomed = event(type, "o-1");
      const r = recorder(group("billing"), [`${stream}.*`], async (e, d) => {
        if (e.id === doomed.id) throw new Error(`boom ${d.attempt}`);
      });
      await broker.subscribe({ ...r.subscription, maxDeliveries: 3 });
      const after = event(type, "o-1");
      const published = Promise.all([broker.publish(doomed), broker.publish(after)]);
      await until(
        "the dead letter and the next event",
        () => r.dead.length === 1 && r.ids().includes(after.id),
      );
      await published;
      expect(r.seen.filter((s) => s.event.id === doomed.id).map((s) => s.attempt)).toEqual([
        1, 2, 3,
      ]);
      const letter = r.dead[0];
      expect(letter).toMatchObject({ event: doomed, reason: "boom 3", attempts: 3 });
      expect(letter?.lastFailureAt).toBeGreaterThanOrEqual(letter?.firstFailureAt ?? Infinity);
    });

    it("dead-letters a poison message at once, without blocking the stream", async () => {
      const { stream, type, group } = fresh();
      const connection = await connect();
      const r = recorder(group("billing"), [`${stream}.*`]);
      await connection.broker.subscribe(r.subscription);
      const good = event(type, "o-1");
      const published = Promise.all([
        connection.publishRaw(type, "not an event"),
        connection.broker.publish(good),
      ]);
      await until(
        "the poison's dead letter and the next event",
        () => r.dead.length === 1 && r.ids().includes(good.id),
      );
      await published;
      expect(r.seen.map((s) => s.event.id)).toEqual([good.id]);
      expect(r.dead[0]).toMatchObject({ raw: "not an event", attempts: 0 });
      expect(r.dead[0]?.event).toBeUndefined();
      expect(r.dead[0]?.reason).toMatch(/^malformed envelope: /);
    });

    it("closes a member gracefully: the delivery in flight finishes and is not redelivered", async () => {
      const { stream, type, group } = fresh();
      const { broker } = await connect();
      const hold = gate();
      let finished = 0;
      const r = recorder(group("billing"), [`${stream}.*`], async () => {
        await hold.promise;
        finished += 1;
      });
      const handle = await broker.subscribe(r.subscription);
      const first = event(type, "o-1");
      const published = broker.publish(first);
      await until("the first delivery", () => r.seen.length === 1);
      let closed = false;
      const closing = handle.close().then(() => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(false); // it waits for the handler in flight
      hold.open();
      await closing;
      expect(finished).toBe(1);
      await published;

      const later = recorder(group("billing"), [`${stream}.*`]);
      await broker.subscribe(later.subscription);
      const second = event(type, "o-2");
      await broker.publish(second);
      await until("the next event at the new member", () => later.ids().includes(second.id));
      expect(later.ids()).not.toContain(first.id);
    });

    it.runIf(adapter.restartable)(
      adapter.restartable
        ? "loses nothing acknowledged across a broker restart mid-stream"
        : "loses nothing acknowledged across a broker restart mid-stream (skipped: no server of its own to stop)",
      async () => {
        const server = await adapter.restartable!();
        const { stream, type, group } = fresh();
        const connection = await server.connect();
        open.push(connection);
        const { broker } = connection;
        const r = recorder(group("billing"), [`${stream}.*`]);
        await broker.subscribe(r.subscription);
        const acked: string[] = [];
        const refused: { phase: string; error: unknown }[] = [];
        const publishAll = (count: number, phase: string): Promise<void>[] =>
          Array.from({ length: count }, (_, i) => {
            const e = event(type, `o-${i % 4}`, { phase });
            return broker.publish(e).then(
              () => void acked.push(e.id),
              (error: unknown) => void refused.push({ phase, error }),
            );
          });
        await Promise.all(publishAll(10, "before"));
        await until("the first events", () => new Set(r.ids()).size === 10);

        // The server goes down with publishes in flight, and more come while it is down.
        const inFlight = publishAll(10, "stopping");
        await server.stop();
        const ackedWhileUp = acked.length;
        const during = publishAll(10, "down");
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Nothing is acknowledged by a server that is down: each publish waits or fails.
        expect(acked.length).toBe(ackedWhileUp);
        await server.start();
        await Promise.all(publishAll(10, "after"));
        await Promise.all([...inFlight, ...during]);

        // Only a publish that met the outage may fail, and it says so in the port's terms.
        for (const { phase, error } of refused) {
          expect(["stopping", "down"]).toContain(phase);
          expect(error).toBeInstanceOf(PlexusError);
          expect((error as PlexusError).code).toBe(Code.Unavailable);
        }
        expect(acked.length + refused.length).toBe(40);
        await until("every acknowledged event", () => {
          const seen = new Set(r.ids());
          return acked.every((id) => seen.has(id));
        });
        const published = new Set(acked);
        expect(r.ids().filter((id) => !published.has(id))).toEqual([]);
      },
      // A JVM start or two on a busy machine: the bound only turns a hang into a failure.
      120_000,
    );

    it.runIf(adapter.durable)(
      "redelivers to another member what a crashed consumer had not acked",
      async () => {
        const { stream, type, group } = fresh();
        const crashing = await connect();
        const stuck = recorder(group("billing"), [`${stream}.*`], () => new Promise(() => {}));
        await crashing.broker.subscribe(stuck.subscription);
        const e = event(type, "o-1");
        await crashing.broker.publish(e);
        await until("the delivery to the doomed consumer", () => stuck.seen.length === 1);
        crashing.destroy();

        const survivor = await connect();
        const r = recorder(group("billing"), [`${stream}.*`]);
        await survivor.broker.subscribe(r.subscription);
        await until("the redelivery", () => r.ids().includes(e.id));
        expect(r.seen[0]?.event).toEqual(e);
      },
    );
  });
}
