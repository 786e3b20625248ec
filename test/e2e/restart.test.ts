/**
 * Restarting the shop on the same data, on either storage: on Postgres the data directory names
 * the shop's database too (test/support/shop-data.ts), so the restart and the rebuild command
 * find the same users, products and orders there.
 */
import { afterAll, describe, expect, it } from "vitest";
import { dataEnv, removeDataDir, startShop } from "../support/shop-process.ts";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { request, signUp } from "../support/http.ts";
import { placeOrder, waitSettled } from "../support/orders.ts";

const root = resolve(import.meta.dirname, "../..");

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map(removeDataDir));
});

describe("npm start on the same data directory", () => {
  it("stops with exit code 0 on SIGTERM, keeps users, keys, products and orders across a restart, and rebuilds the order history by command", async () => {
    // A fresh PGlite data directory may run initdb (no template cached yet): slow when busy.
    const first = await startShop({ startTimeoutMs: 110_000 });
    dirs.push(first.dataDir);
    const user = await signUp(first.url, "Persistent Pat");
    const products = await request(first.url, "/api/v1/products?limit=100");
    const [product] = products.body.data as { id: string }[];
    const order = await placeOrder(
      first.url,
      user.token,
      [{ productId: product!.id, quantity: 1 }],
      "tok_visa",
    );
    expect((await waitSettled(first.url, user.token, order.id)).status).toBe("CONFIRMED");
    expect(await first.stop("SIGTERM")).toBe(0);

    // The read model is rebuilt from the orders event log by a command, on the stopped shop's data.
    const rebuilt = await promisify(execFile)(
      process.execPath,
      ["apps/shop/scripts/rebuild-order-history.ts"],
      {
        cwd: root,
        env: { ...process.env, ...(await dataEnv(first.dataDir)), PLEXUS_LOG_LEVEL: "warn" },
      },
    );
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ events: 2, resumed: false });

    const second = await startShop({ dataDir: first.dataDir });
    try {
      // The token issued before the restart still verifies: the signing key was persisted.
      const me = await request(second.url, `/api/v1/users/${user.id}`, { token: user.token });
      expect(me.status).toBe(200);
      expect(me.body.data.name).toBe("Persistent Pat");
      const login = await request(second.url, "/api/v1/auth/token", {
        body: { email: user.email, password: user.password },
      });
      expect(login.status).toBe(200);
      const again = await request(second.url, "/api/v1/products?limit=100");
      expect(again.body.data).toEqual(
        products.body.data.map((p: { id: string; stock: number }) =>
          p.id === product!.id ? { ...p, stock: p.stock - 1 } : p,
        ),
      );
      const history = await request(second.url, "/api/v1/me/orders", { token: user.token });
      expect(history.body.data).toMatchObject([
        { id: order.id, status: "CONFIRMED", itemCount: 1 },
      ]);
      const ready = await request(second.url, "/health/ready");
      expect(ready.status).toBe(200);
    } finally {
      expect(await second.stop("SIGINT")).toBe(0);
    }
  }, 180_000);
});
