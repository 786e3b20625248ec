import { afterAll, describe, expect, it } from "vitest";
import { removeDataDir, startShop } from "../support/shop-process.ts";
import { request, signUp } from "../support/http.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map(removeDataDir));
});

describe("npm start on the same data directory", () => {
  it("stops with exit code 0 on SIGTERM and keeps users, keys and products across a restart", async () => {
    const first = await startShop();
    dirs.push(first.dataDir);
    const user = await signUp(first.url, "Persistent Pat");
    const products = await request(first.url, "/api/v1/products?limit=100");
    expect(await first.stop("SIGTERM")).toBe(0);

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
      expect(again.body.data).toEqual(products.body.data);
      const ready = await request(second.url, "/health/ready");
      expect(ready.status).toBe(200);
    } finally {
      expect(await second.stop("SIGINT")).toBe(0);
    }
  }, 180_000);
});
