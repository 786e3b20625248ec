import type { Db } from "@plexus/core";
import { openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentsMigrations } from "../migrations.ts";
import { createCardProviderServer, type CardProviderServer } from "./card-provider-server.ts";

let storage: Storage;
let db: Db;
let provider: CardProviderServer;
let counter = 0;

/** The slow token's delay here: long enough to act while a charge is in flight. */
const slowMs = 400;

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService("payments", paymentsMigrations);
  provider = await createCardProviderServer({ db, slowMs, flaky: { seed: 42 } });
});

afterAll(async () => {
  await provider?.close();
  await storage?.close();
});

interface Answer {
  status: number;
  body: {
    id?: string;
    status?: string;
    amount?: string;
    outcome?: string;
    charge?: { id: string };
    error?: { type: string; code: string };
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${provider.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

function charge(key: string, source: string, amount = "1250", reference = "order-1") {
  return post(
    "/v1/charges",
    { amount, currency: "EUR", source, reference },
    { "idempotency-key": key },
  );
}

function key(name: string): string {
  return `${name}-${++counter}`;
}

async function recordsOf(idempotencyKey: string) {
  const result = await db.query<{ status: string }>(
    "SELECT status FROM provider_charges WHERE idempotency_key = $1",
    [idempotencyKey],
  );
  return result.rows.map((r) => r.status);
}

describe("card provider", () => {
  it("charges tok_visa, and answers the same charge for the same key", async () => {
    const k = key("visa");
    const first = await charge(k, "tok_visa");
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "succeeded", amount: "1250" });
    expect(first.body.id).toMatch(/^pch_/);
    expect(await charge(k, "tok_visa")).toEqual(first);
    expect(await recordsOf(k)).toEqual(["succeeded"]);
  });

  it.each([
    ["tok_declined", "card_declined"],
    ["tok_unknown", "invalid_token"],
  ])("declines %s (%s), for good", async (token, code) => {
    const k = key("declined");
    const first = await charge(k, token);
    expect(first).toMatchObject({ status: 402, body: { error: { type: "card_error", code } } });
    expect(await charge(k, token)).toEqual(first);
    expect(await recordsOf(k)).toEqual(["declined"]);
  });

  it("refuses a key reused with another request", async () => {
    const k = key("reuse");
    await charge(k, "tok_visa", "100");
    const other = await charge(k, "tok_visa", "200");
    expect(other).toMatchObject({
      status: 422,
      body: { error: { code: "idempotency_key_reused" } },
    });
  });

  it("refuses requests without a key or with a bad body", async () => {
    const noKey = await post("/v1/charges", {
      amount: "1",
      currency: "EUR",
      source: "tok_visa",
      reference: "",
    });
    expect(noKey.status).toBe(400);
    expect((await charge(key("bad"), "tok_visa", "-1")).status).toBe(400);
    expect((await charge(key("bad"), "tok_visa", "1.5")).status).toBe(400);
    const notJson = await fetch(`${provider.url}/v1/charges`, {
      method: "POST",
      headers: { "idempotency-key": key("bad") },
      body: "{",
    });
    expect(notJson.status).toBe(400);
  });

  it("makes concurrent requests with one slow key wait for the first: one charge", async () => {
    const k = key("slow");
    const answers = await Promise.all(Array.from({ length: 6 }, () => charge(k, "tok_slow")));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.id).toBe(answers[0]!.body.id);
    }
    expect(await recordsOf(k)).toEqual(["succeeded"]);
  });

  it("fails tok_flaky on about half the attempts, never charging a key twice", async () => {
    let failures = 0;
    let attempts = 0;
    const keys = Array.from({ length: 20 }, () => key("flaky"));
    for (const k of keys) {
      let answer: Awaited<ReturnType<typeof charge>>;
      do {
        answer = await charge(k, "tok_flaky");
        attempts++;
        if (answer.status === 503) failures++;
        expect(attempts).toBeLessThan(200);
      } while (answer.status === 503);
      expect(answer.status).toBe(200);
      expect(await recordsOf(k)).toEqual(["succeeded"]);
    }
    // The seed is fixed, so these counts are too; they must show both outcomes in quantity.
    expect(failures).toBeGreaterThan(attempts / 5);
    expect(failures).toBeLessThan(attempts);
  });

  it("refunds a charge by id, once and idempotently", async () => {
    const { body } = await charge(key("refund"), "tok_visa");
    const path = `/v1/charges/${body.id}/refund`;
    const refunded = await post(path, {});
    expect(refunded).toMatchObject({ status: 200, body: { id: body.id, status: "refunded" } });
    expect(await post(path, {})).toEqual(refunded);
    expect((await post("/v1/charges/pch_nope/refund", {})).status).toBe(404);
  });

  it("voids an unknown key for good: a later charge with it fails", async () => {
    const k = key("void");
    expect(await post("/v1/voids", { idempotencyKey: k })).toEqual({
      status: 200,
      body: { outcome: "voided" },
    });
    const late = await charge(k, "tok_visa");
    expect(late).toMatchObject({ status: 409, body: { error: { code: "charge_voided" } } });
    expect(await recordsOf(k)).toEqual(["voided"]);
  });

  it("voids a key while its slow charge is in flight: that charge never happens", async () => {
    const k = key("void-in-flight");
    const pending = charge(k, "tok_slow");
    // Wait until the provider is processing the key (a joiner would wait for it).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await post("/v1/voids", { idempotencyKey: k })).body).toEqual({ outcome: "voided" });
    expect(await pending).toMatchObject({
      status: 409,
      body: { error: { code: "charge_voided" } },
    });
    expect(await recordsOf(k)).toEqual(["voided"]);
  });

  it("voiding a charged key refunds it; voiding a declined key changes nothing", async () => {
    const charged = key("void-charged");
    const { body } = await charge(charged, "tok_visa");
    const voided = await post("/v1/voids", { idempotencyKey: charged });
    expect(voided.body).toMatchObject({ outcome: "refunded", charge: { id: body.id } });
    expect(await recordsOf(charged)).toEqual(["refunded"]);
    expect(await post("/v1/voids", { idempotencyKey: charged })).toEqual(voided);

    const declined = key("void-declined");
    await charge(declined, "tok_declined");
    expect((await post("/v1/voids", { idempotencyKey: declined })).body).toEqual({
      outcome: "declined",
    });
  });

  it("keeps its records across a restart (they stand for an external system)", async () => {
    const k = key("restart");
    const first = await charge(k, "tok_visa");
    const again = await createCardProviderServer({ db, slowMs });
    try {
      const response = await fetch(`${again.url}/v1/charges`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": k },
        body: JSON.stringify({
          amount: "1250",
          currency: "EUR",
          source: "tok_visa",
          reference: "order-1",
        }),
      });
      expect(await response.json()).toEqual(first.body);
    } finally {
      await again.close();
    }
  });

  it("closes while a slow charge is in flight, recording nothing for it", async () => {
    const own = await createCardProviderServer({ db, slowMs: 60_000 });
    const k = key("closing");
    const pending = fetch(`${own.url}/v1/charges`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": k },
      body: JSON.stringify({ amount: "1", currency: "EUR", source: "tok_slow", reference: "o" }),
    }).then(
      (r) => r.status,
      () => "reset",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await own.close();
    expect([503, "reset"]).toContain(await pending);
    expect(await recordsOf(k)).toEqual([]);
  });
});
