import { Code, createLogger, type Client } from "@plexus/core";
import {
  bindService,
  createClient,
  createHttpClients,
  createNetworkTransport,
  createRpcServer,
  type HttpClients,
  type NetworkTransport,
  type RpcServer,
} from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentsService } from "../../gen/shop/payments/v1/payments_pb.js";
import { createServiceTestEnv } from "../service-test-env.ts";
import { paymentsService } from "./service.ts";
import { errorOf } from "../test-errors.ts";

// Over the real RPC stack: the idempotency key travels as the caller's `idempotencyKey` option
// (header `idempotency-key`), reasons and deadlines cross the wire.
let storage: Storage;
let http: HttpClients;
let instance: Awaited<ReturnType<typeof paymentsService.create>>;
let server: RpcServer;
let transport: NetworkTransport;
let payments: Client<typeof PaymentsService>;

beforeAll(async () => {
  storage = await openStorage({});
  const db = await storage.forService(paymentsService.name, paymentsService.migrations);
  http = createHttpClients();
  instance = await paymentsService.create(
    createServiceTestEnv({
      name: paymentsService.name,
      db,
      http,
      logger: createLogger({ name: "payments-rpc-test", level: "silent" }),
      config: { PLEXUS_PAYMENT_SLOW_MS: "400", PLEXUS_PAYMENT_CHARGE_TIMEOUT_MS: "10000" },
    }),
  );
  server = await createRpcServer({
    services: [bindService(PaymentsService, instance.handlers)],
  });
  transport = createNetworkTransport({ baseUrl: server.address().url });
  payments = createClient(PaymentsService, transport);
});

afterAll(async () => {
  await transport?.close();
  await server?.close();
  await instance?.close?.();
  await http?.close();
  await storage?.close();
});

const request = (orderId: string, paymentToken: string) => ({
  orderId,
  amountCents: 2599n,
  currency: "EUR",
  paymentToken,
});

describe("payments over RPC", () => {
  it("charges with the call's idempotency key, and refuses a call without one", async () => {
    const missing = await errorOf(payments.charge(request("rpc-1", "tok_visa")));
    expect(missing.code).toBe(Code.InvalidArgument);
    expect(missing.reason).toBe("IDEMPOTENCY_KEY_REQUIRED");

    const key = "saga-rpc-1:charge:action";
    const { charge } = await payments.charge(request("rpc-1", "tok_visa"), { idempotencyKey: key });
    expect(charge).toMatchObject({ orderId: "rpc-1", status: "SUCCEEDED", amountCents: 2599n });
    const again = await payments.charge(request("rpc-1", "tok_visa"), { idempotencyKey: key });
    expect(again.charge).toEqual(charge);
    expect((await payments.listCharges({ orderId: "rpc-1" })).charges).toEqual([charge]);
  });

  it("carries PAYMENT_DECLINED across the wire", async () => {
    const error = await errorOf(
      payments.charge(request("rpc-2", "tok_declined"), { idempotencyKey: "rpc-2" }),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.reason).toBe("PAYMENT_DECLINED");
  });

  it("tok_slow past the call's timeout: DEADLINE_EXCEEDED, then the retry finds the one charge", async () => {
    const key = "rpc-3:charge:action";
    const error = await errorOf(
      payments.charge(request("rpc-3", "tok_slow"), { idempotencyKey: key, timeoutMs: 100 }),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    const { charge } = await payments.charge(request("rpc-3", "tok_slow"), { idempotencyKey: key });
    expect(charge?.status).toBe("SUCCEEDED");
    const refunded = await payments.refundOrder({ orderId: "rpc-3" });
    expect(refunded.charges).toMatchObject([{ chargeId: charge?.chargeId, status: "REFUNDED" }]);
  });
});
