import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sleep, systemClock, type Clock, type Logger, type Sql } from "@plexus/core";
import { fieldViolation } from "@plexus/rpc";
import { ChargeRequestSchema } from "../../../gen/shop/payments/v1/payments_pb.js";
import {
  createProviderChargeStore,
  type ProviderChargeRecord,
  type ProviderChargeStore,
} from "./provider-charge-store.ts";
import {
  chargesPath,
  voidsPath,
  type ChargeBody,
  type ProviderCharge,
  type ProviderErrorBody,
  type ProviderErrorType,
  type VoidResult,
} from "./provider-api.ts";
import { behaviourOf, createFlakyDecider, type FlakyDeciderOptions } from "./test-cards.ts";
import { idempotencyKeyViolation } from "../../idempotency-key.ts";
import { nowIso } from "../../now-iso.ts";

export interface CardProviderServerOptions {
  /** Where the provider keeps `provider_charges` (the payments schema, so it survives restarts). */
  readonly db: Sql;
  /** Time source of the tok_slow delay and of timestamps. Default: the system clock. */
  readonly clock?: Clock;
  /** How long tok_slow takes. Default 3000 ms (API.md: "after ~3 s"). */
  readonly slowMs?: number;
  /** How tok_flaky fails. Default: random, at most 2 failures in a row per key. */
  readonly flaky?: FlakyDeciderOptions;
  /** Where unexpected failures are logged (requests never are: they carry card tokens). */
  readonly logger?: Logger;
  /** Interface to listen on. Default `127.0.0.1`: the provider is reachable from this host only. */
  readonly host?: string;
  /** Port. Default 0 (any free port; read it from `url`). */
  readonly port?: number;
}

/** A running simulated card provider. */
export interface CardProviderServer extends AsyncDisposable {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops: pending slow charges give up (answering 503, recording nothing), then the server closes. */
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

const maxBodyBytes = 16 * 1024;
const refundPath = /^\/v1\/charges\/([A-Za-z0-9_-]{1,100})\/refund$/;

function failure(status: number, type: ProviderErrorType, code: string, message: string): Reply {
  const body: ProviderErrorBody = { error: { type, code, message } };
  return { status, body };
}

const unavailable = (): Reply =>
  failure(503, "api_error", "temporarily_unavailable", "please retry with the same key");
const keyReused = (): Reply =>
  failure(
    422,
    "idempotency_error",
    "idempotency_key_reused",
    "this key was used with another request",
  );
const badRequest = (message: string): Reply =>
  failure(400, "invalid_request_error", "invalid_request", message);

function chargeOf(record: ProviderChargeRecord): ProviderCharge {
  return {
    id: record.id ?? "",
    status: record.status === "refunded" ? "refunded" : "succeeded",
    amount: record.amount ?? "0",
    currency: record.currency ?? "",
    reference: record.reference ?? "",
  };
}

/** What a charge request under a key with this record answers. */
function replyFor(record: ProviderChargeRecord, fingerprint: string): Reply {
  if (record.status === "voided") {
    return failure(409, "idempotency_error", "charge_voided", "this key was voided");
  }
  if (record.requestHash !== fingerprint) return keyReused();
  if (record.status === "declined") {
    const code = record.declineCode ?? "card_declined";
    return failure(
      402,
      "card_error",
      code,
      code === "invalid_token" ? "invalid token" : "declined",
    );
  }
  return { status: 200, body: chargeOf(record) };
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (error) {
        reject(error instanceof Error ? error : new Error("invalid JSON"));
      }
    });
    req.on("error", reject);
  });
}

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

function parseChargeBody(body: unknown): ChargeBody | undefined {
  const amount = field(body, "amount");
  const currency = field(body, "currency");
  const source = field(body, "source");
  const reference = field(body, "reference");
  if (
    typeof amount !== "string" ||
    !/^[1-9][0-9]{0,17}$/.test(amount) ||
    // The payments contract's own rules: the provider takes what payments may send.
    typeof currency !== "string" ||
    fieldViolation(ChargeRequestSchema.field.currency, currency) !== undefined ||
    typeof source !== "string" ||
    fieldViolation(ChargeRequestSchema.field.paymentToken, source) !== undefined ||
    typeof reference !== "string" ||
    reference.length > 255
  ) {
    return undefined;
  }
  return { amount, currency, source, reference };
}

/**
 * Starts the simulated card provider: a small HTTP server standing for an external card API,
 * with API.md's test tokens (`tok_visa`, `tok_declined`, `tok_slow`, `tok_flaky`; anything else
 * is declined as an invalid token).
 *
 * It is idempotent by key the way a real provider is: a key's first final outcome is recorded
 * (the table's primary key makes it the only one) and answered to every later request with that
 * key; a request whose key is still being processed here waits for that processing and answers
 * its outcome. A key can be voided: if it was charged, the charge is refunded; if not, a
 * tombstone makes any charge with it fail, also one still in flight.
 *
 * @example
 * const provider = await createCardProviderServer({ db });
 * const res = await fetch(`${provider.url}/v1/charges`, { method: "POST", headers: {...}, body });
 * await provider.close();
 */
export async function createCardProviderServer(
  options: CardProviderServerOptions,
): Promise<CardProviderServer> {
  const clock = options.clock ?? systemClock;
  const slowMs = options.slowMs ?? 3000;
  const store: ProviderChargeStore = createProviderChargeStore(options.db);
  const flaky = createFlakyDecider(options.flaky);
  const closing = new AbortController();
  const inFlight = new Map<string, { fingerprint: string; reply: Promise<Reply> }>();
  const handling = new Set<Promise<void>>();
  const now = (): string => nowIso(clock);

  async function process(key: string, body: ChargeBody, fingerprint: string): Promise<Reply> {
    const existing = await store.findByKey(key);
    if (existing) return replyFor(existing, fingerprint);
    const base = {
      idempotencyKey: key,
      amount: body.amount,
      currency: body.currency,
      reference: body.reference,
      requestHash: fingerprint,
    };
    const charged: ProviderChargeRecord = {
      ...base,
      id: `pch_${randomUUID()}`,
      status: "succeeded",
      declineCode: undefined,
    };
    let record = charged;
    let loseAnswer = false;
    switch (behaviourOf(body.source)) {
      case "succeed":
        break;
      case "slow":
        try {
          await sleep(slowMs, closing.signal, clock);
        } catch {
          return unavailable(); // closing: nothing was charged
        }
        break;
      case "flaky": {
        const outcome = flaky.decide(key);
        if (outcome === "fail-before") return unavailable();
        loseAnswer = outcome === "fail-after";
        break;
      }
      case "decline":
        record = { ...charged, status: "declined", declineCode: "card_declined" };
        break;
      case "invalid":
        record = { ...charged, status: "declined", declineCode: "invalid_token" };
        break;
    }
    // The first outcome recorded for the key wins: a void (tombstone) or a concurrent attempt
    // elsewhere may have settled it meanwhile, and then that is the answer.
    const settled = await store.settle(record, now());
    return loseAnswer ? unavailable() : replyFor(settled, fingerprint);
  }

  async function charge(req: IncomingMessage, body: unknown): Promise<Reply> {
    const key = req.headers["idempotency-key"];
    if (typeof key !== "string" || idempotencyKeyViolation(key) !== undefined) {
      return badRequest("Idempotency-Key must be 1 to 255 printable ASCII characters");
    }
    const request = parseChargeBody(body);
    if (!request) return badRequest("amount, currency, source and reference are required");
    const fingerprint = createHash("sha256")
      .update(JSON.stringify([request.amount, request.currency, request.source, request.reference]))
      .digest("hex");
    const flight = inFlight.get(key);
    if (flight) {
      return flight.fingerprint === fingerprint ? flight.reply : keyReused();
    }
    const reply = process(key, request, fingerprint).finally(() => inFlight.delete(key));
    inFlight.set(key, { fingerprint, reply });
    return reply;
  }

  async function refund(id: string): Promise<Reply> {
    const record = await store.refund(id, now());
    if (!record) return failure(404, "not_found", "no_such_charge", "no such charge");
    if (record.status !== "refunded") {
      return failure(409, "invalid_request_error", "charge_not_refundable", "nothing to refund");
    }
    return { status: 200, body: chargeOf(record) };
  }

  async function voidKey(body: unknown): Promise<Reply> {
    const key = field(body, "idempotencyKey");
    if (typeof key !== "string" || idempotencyKeyViolation(key) !== undefined) {
      return badRequest("idempotencyKey must be 1 to 255 printable ASCII characters");
    }
    let record = await store.voidKey(key, now());
    if (record.status === "succeeded" && record.id !== undefined) {
      record = (await store.refund(record.id, now())) ?? record;
    }
    const result: VoidResult =
      record.status === "voided"
        ? { outcome: "voided" }
        : record.status === "declined"
          ? { outcome: "declined" }
          : { outcome: "refunded", charge: chargeOf(record) };
    return { status: 200, body: result };
  }

  async function route(req: IncomingMessage): Promise<Reply> {
    if (closing.signal.aborted) return unavailable();
    if (req.method !== "POST") {
      return failure(405, "invalid_request_error", "method_not_allowed", "use POST");
    }
    let body: unknown;
    try {
      body = await readBody(req);
    } catch {
      return badRequest("the body must be JSON of at most 16 KiB");
    }
    const path = new URL(req.url ?? "/", "http://provider").pathname;
    if (path === chargesPath) return charge(req, body);
    if (path === voidsPath) return voidKey(body);
    const refundOf = refundPath.exec(path);
    if (refundOf?.[1] !== undefined) return refund(refundOf[1]);
    return failure(404, "not_found", "no_such_route", "no such route");
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await route(req);
    } catch (error) {
      options.logger?.error({ err: error }, "card provider failed a request");
      reply = unavailable();
    }
    if (res.destroyed) return; // the caller gave up (timeout): the outcome stays recorded
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    const done = handle(req, res)
      .catch((error: unknown) =>
        options.logger?.error({ err: error }, "card provider reply failed"),
      )
      .finally(() => handling.delete(done));
    handling.add(done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing.abort(new Error("card provider closing"));
      await Promise.allSettled([...handling]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })();
    return closed;
  };
  return { url, close, [Symbol.asyncDispose]: close };
}
