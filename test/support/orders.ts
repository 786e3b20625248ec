import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { request, type Reply } from "./http.ts";

/** One line of an order request. */
export interface Line {
  productId: string;
  quantity: number;
}

/** An order as `GET /api/v1/orders/{id}` shows it. */
export interface OrderView {
  id: string;
  userId: string;
  status: "PENDING" | "CONFIRMED" | "CANCELLED";
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  failureReason?: string;
  payment?: { status: string; chargeId?: string; amountCents: number };
  createdAt: string;
  updatedAt: string;
}

export interface ChargeView {
  chargeId: string;
  status: "SUCCEEDED" | "REFUNDED" | "FAILED";
  amountCents: number;
}

/** An order a test placed, with what is needed to read it back as its owner. */
export interface PlacedOrder {
  id: string;
  token: string;
  lines: Line[];
}

/** Sends `POST /api/v1/orders`; a fresh Idempotency-Key unless one is given (null: none). */
export function postOrder(
  baseUrl: string,
  token: string,
  lines: Line[],
  paymentToken: string,
  key: string | null = randomUUID(),
): Promise<Reply> {
  return request(baseUrl, "/api/v1/orders", {
    token,
    headers: key === null ? {} : { "idempotency-key": key },
    body: { items: lines, paymentMethod: { token: paymentToken } },
  });
}

/** Places an order and insists on the 202; returns it for later checks. */
export async function placeOrder(
  baseUrl: string,
  token: string,
  lines: Line[],
  paymentToken: string,
  key?: string,
): Promise<PlacedOrder> {
  const reply = await postOrder(baseUrl, token, lines, paymentToken, key);
  if (reply.status !== 202) throw new Error(`place order: ${reply.status} ${reply.text}`);
  return { id: reply.body.data.id as string, token, lines };
}

export async function getOrder(baseUrl: string, token: string, id: string): Promise<OrderView> {
  const reply = await request(baseUrl, `/api/v1/orders/${encodeURIComponent(id)}`, { token });
  if (reply.status !== 200) throw new Error(`get order ${id}: ${reply.status} ${reply.text}`);
  return reply.body.data as OrderView;
}

export async function getCharges(
  baseUrl: string,
  token: string,
  id: string,
): Promise<ChargeView[]> {
  const reply = await request(baseUrl, `/api/v1/orders/${encodeURIComponent(id)}/payments`, {
    token,
  });
  if (reply.status !== 200) throw new Error(`get payments ${id}: ${reply.status} ${reply.text}`);
  return reply.body.data as ChargeView[];
}

/**
 * Polls until `check` returns a value (not undefined), every `intervalMs`, at most `timeoutMs`.
 * Bounded: throws with the last observation when time runs out.
 */
export async function pollUntil<T, R>(
  read: () => Promise<T>,
  check: (value: T) => R | undefined,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<R> {
  const deadline = Date.now() + options.timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    const result = check(last);
    if (result !== undefined) return result;
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.what}: not reached within ${options.timeoutMs} ms; last seen ${JSON.stringify(last)}`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** Waits until an order leaves PENDING and returns it. */
export function waitSettled(
  baseUrl: string,
  token: string,
  id: string,
  timeoutMs = 20_000,
): Promise<OrderView> {
  return pollUntil(
    () => getOrder(baseUrl, token, id),
    (order) => (order.status === "PENDING" ? undefined : order),
    { timeoutMs, intervalMs: 50, what: `order ${id} settled` },
  );
}

/** Stock of every product (the seeded catalog fits one page of 100). */
export async function stockLevels(baseUrl: string): Promise<Map<string, number>> {
  const reply = await request(baseUrl, "/api/v1/products?limit=100");
  if (reply.status !== 200) throw new Error(`products: ${reply.status} ${reply.text}`);
  if (reply.body.pagination.total > 100) throw new Error("more than 100 products: page them");
  return new Map(
    (reply.body.data as { id: string; stock: number }[]).map((p) => [p.id, p.stock] as const),
  );
}

/**
 * API.md's invariant, checked at a quiet moment (every order settled): for every product,
 * seeded stock − current stock = Σ quantities over CONFIRMED orders; every CONFIRMED order has
 * exactly one SUCCEEDED charge, equal to its total; every CANCELLED order has none. Returns the
 * violations (empty when it holds), so a failing assertion shows all of them.
 *
 * `orders` must be every order placed on this shop since `seeded` was read.
 */
export async function invariantViolations(
  baseUrl: string,
  seeded: ReadonlyMap<string, number>,
  orders: readonly PlacedOrder[],
): Promise<string[]> {
  const violations: string[] = [];
  const confirmedUnits = new Map<string, number>();
  for (const placed of orders) {
    const order = await getOrder(baseUrl, placed.token, placed.id);
    const charges = await getCharges(baseUrl, placed.token, placed.id);
    const succeeded = charges.filter((c) => c.status === "SUCCEEDED");
    if (order.status === "PENDING") violations.push(`${order.id} is still PENDING`);
    if (order.status === "CONFIRMED") {
      for (const line of order.items) {
        confirmedUnits.set(
          line.productId,
          (confirmedUnits.get(line.productId) ?? 0) + line.quantity,
        );
      }
      if (succeeded.length !== 1) {
        violations.push(`${order.id} CONFIRMED with ${succeeded.length} SUCCEEDED charges`);
      } else if (succeeded[0]!.amountCents !== order.totalCents) {
        violations.push(
          `${order.id} charged ${succeeded[0]!.amountCents}, total ${order.totalCents}`,
        );
      }
    }
    if (order.status === "CANCELLED" && succeeded.length !== 0) {
      violations.push(`${order.id} CANCELLED with ${succeeded.length} SUCCEEDED charges`);
    }
  }
  const current = await stockLevels(baseUrl);
  for (const [productId, initial] of seeded) {
    const taken = initial - (current.get(productId) ?? NaN);
    const expected = confirmedUnits.get(productId) ?? 0;
    if (taken !== expected) {
      violations.push(`${productId}: ${taken} units taken, ${expected} in CONFIRMED orders`);
    }
  }
  return violations;
}

/** One try of a saga step, as the admin API shows it. */
export interface SagaStepView {
  step: string;
  phase: "action" | "compensation";
  attempt: number;
  idempotencyKey: string;
  outcome: "SUCCEEDED" | "RETRYING" | "FAILED" | "INTERRUPTED" | null;
}

/** An order's saga as `GET /_plexus/api/sagas/orders/{id}` shows it (the fields tests read). */
export interface SagaView {
  id: string;
  status: string;
  steps: SagaStepView[];
}

/** Reads an order's saga through the admin API (the shop must run with `PLEXUS_ADMIN_TOKEN`). */
export async function getSaga(baseUrl: string, adminToken: string, id: string): Promise<SagaView> {
  const reply = await request(baseUrl, `/_plexus/api/sagas/orders/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (reply.status !== 200) throw new Error(`get saga ${id}: ${reply.status} ${reply.text}`);
  return reply.body.data as SagaView;
}
