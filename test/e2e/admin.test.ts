/**
 * The admin API's access rules, black-box. PGlite only (vitest.config.ts): who may call it does
 * not depend on the storage; reading sagas through it on Postgres is done by replicas.test.ts.
 * That it is off without PLEXUS_ADMIN_TOKEN is conventions.test.ts's, whose shop has none (one
 * here would cost a whole start).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDataDir, startShop, type ShopProcess } from "../support/shop-process.ts";
import { request } from "../support/http.ts";
import { runPlexus } from "../support/plexus-cli.ts";

const token = "admin-token-for-the-e2e-suite";
let shop: ShopProcess;
beforeAll(async () => {
  shop = await startShop({ env: { PLEXUS_ADMIN_TOKEN: token } });
});
afterAll(async () => {
  await shop.stop();
  await removeDataDir(shop.dataDir);
});

describe("the admin API under /_plexus/api/", () => {
  it("answers 401 without the admin token or with a wrong one, in the error shape", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer not-the-token-at-all" },
    ];
    for (const headers of attempts) {
      const reply = await request(shop.url, "/_plexus/api/health", { headers });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe("UNAUTHENTICATED");
    }
  });

  it("reports liveness and readiness of every service with the token", async () => {
    const reply = await request(shop.url, "/_plexus/api/health", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data.ready).toMatchObject({
      ok: true,
      checks: { storage: "ok", users: "ok" },
    });
  });

  it("answers 404 for a service without sagas or dead letters", async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await request(shop.url, "/_plexus/api/sagas/nope", { headers: auth })).status).toBe(
      404,
    );
    expect(
      (await request(shop.url, "/_plexus/api/dead-letters/nope", { headers: auth })).status,
    ).toBe(404);
  });

  it("is what plexus dlq reads: the shop's dead letters, an unknown one in one line", async () => {
    const env = { PLEXUS_ADMIN_TOKEN: token };
    expect(await runPlexus(["dlq", "list", "notifications", "--url", shop.url], env)).toEqual({
      code: 0,
      stdout: "no dead letters in notifications\n",
      stderr: "",
    });
    const show = await runPlexus(["dlq", "show", "notifications", "1", "--url", shop.url], env);
    expect(show).toMatchObject({ code: 1, stdout: "" });
    expect(show.stderr).toMatch(/^plexus: no dead letter 1 \(404 NOT_FOUND\): [^\n]+\n$/);
  });
});
