import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { Code, createLogger, retryAfterMsOf, type Db, type PlexusError } from "@plexus/core";
import { createFakeClock, type FakeClock } from "@plexus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqlLoginFailureStore } from "../adapters/sql-login-failure-store.ts";
import { createSqlUserRepository } from "../adapters/sql-user-repository.ts";
import { createPasswordHasher, parsePasswordHash } from "../domain/password-hash.ts";
import { usersMigrations } from "../migrations.ts";
import { errorOf } from "../../test-errors.ts";
import {
  openServiceTestStorage,
  storageBackends,
  type ServiceTestStorage,
} from "../../test-storage.ts";
import { createAuthenticator, type Authenticator } from "./authenticator.ts";

// Cheap parameters keep the suite fast (password-hash.test.ts proves the defaults are OWASP's);
// the bounds and the re-hash work relative to whatever the current parameters are.
const current = { logN: 10, r: 8, p: 1 };
const hasher = createPasswordHasher({ params: current });
const policy = { maxFailures: 5, windowMs: 15 * 60_000 };
const start = Date.parse("2026-12-07T12:00:00Z");

const backends = await storageBackends();

describe.each(backends)("authenticator on $kind", ({ kind, available }) => {
  let opened: ServiceTestStorage | undefined;
  let db: Db;
  let clock: FakeClock;
  let auth: Authenticator;
  const logLines: string[] = [];

  function authenticator(): Authenticator {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    return createAuthenticator({
      users: createSqlUserRepository(db),
      hasher,
      failures: createSqlLoginFailureStore(db),
      policy,
      clock,
      logger: createLogger({ name: "auth-test", level: "debug", destination }),
    });
  }

  /** Stores a user whose password hash is `passwordHash` (default: `password` at `current`). */
  async function addUser(password: string, passwordHash?: string) {
    const user = {
      id: randomUUID(),
      email: `${randomUUID()}@Example.com`,
      name: "Someone",
      tier: "free",
      createdAt: new Date(start).toISOString(),
      passwordHash: passwordHash ?? (await hasher.hash(password)),
    };
    await createSqlUserRepository(db).insert(user);
    return user;
  }

  async function storedHash(id: string): Promise<string> {
    const { rows } = await db.query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE id = $1",
      [id],
    );
    return rows[0]!.password_hash;
  }

  /** Fails `n` logins with a wrong password, each answered like any wrong password. */
  async function failTimes(email: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const error = await errorOf(auth.authenticate(email, `wrong password ${i}`));
      expect(error.code).toBe(Code.Unauthenticated);
    }
  }

  async function expectLimited(email: string, password: string, retryAfterMs: number) {
    const error = await errorOf(auth.authenticate(email, password));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.reason).toBe("RATE_LIMITED");
    expect(retryAfterMsOf(error)).toBe(retryAfterMs);
  }

  beforeAll(async () => {
    if (!available) return;
    opened = await openServiceTestStorage(kind, "plexus_users_auth", {
      name: "users",
      migrations: usersMigrations,
    });
    ({ db } = opened);
    clock = createFakeClock(start);
    auth = authenticator();
  });

  afterAll(async () => {
    await opened?.close();
  });

  describe.skipIf(!available)("per-account login limit", () => {
    it("refuses the 6th attempt in 15 minutes, the right password too, until the oldest expires", async () => {
      const user = await addUser("right password");
      await failTimes(user.email, 2);
      clock.advance(60_000);
      await failTimes(user.email, 3);
      clock.advance(1000);
      await expectLimited(user.email, "right password", 14 * 60_000 - 1000);
      // A refused attempt is not recorded: waiting out the oldest failure is enough.
      clock.advance(14 * 60_000 - 1001);
      await expectLimited(user.email, "right password", 1);
      clock.advance(1);
      expect((await auth.authenticate(user.email, "right password")).id).toBe(user.id);
    });

    it("limits an unknown email exactly like a known one", async () => {
      const known = await addUser("right password");
      const unknown = `${randomUUID()}@example.com`;
      for (const email of [known.email, unknown]) await failTimes(email, 5);
      for (const email of [known.email, unknown]) {
        await expectLimited(email, "right password", policy.windowMs);
      }
    });

    it("counts per normalised email: case and surrounding spaces do not make a new account", async () => {
      const user = await addUser("right password");
      await failTimes(user.email.toUpperCase(), 2);
      await failTimes(`  ${user.email.toLowerCase()}\t`, 3);
      await expectLimited(user.email, "right password", policy.windowMs);
    });

    it("resets the count on a successful login", async () => {
      const user = await addUser("right password");
      await failTimes(user.email, 4);
      await auth.authenticate(user.email, "right password");
      await failTimes(user.email, 5);
      await expectLimited(user.email, "wrong again", policy.windowMs);
    });

    it("decides concurrent guesses one by one: exactly 5 are checked", async () => {
      const user = await addUser("right password");
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => auth.authenticate(user.email, `guess ${i}`)),
      );
      const codes = outcomes.map((o) =>
        o.status === "rejected" ? (o.reason as PlexusError).code : undefined,
      );
      expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(5);
      expect(codes.filter((c) => c === Code.FailedPrecondition)).toHaveLength(7);
    });

    it("is shared by replicas: the count lives in the database", async () => {
      const user = await addUser("right password");
      const replicas = [auth, authenticator(), authenticator()];
      for (let i = 0; i < 5; i++) {
        await errorOf(replicas[i % 3]!.authenticate(user.email, `wrong ${i}`));
      }
      for (const replica of replicas) {
        const error = await errorOf(replica.authenticate(user.email, "right password"));
        expect(error.reason).toBe("RATE_LIMITED");
      }
    });

    it("prunes rows whose failures have all expired, as later logins pass", async () => {
      await failTimes(`${randomUUID()}@example.com`, 1);
      const count = async () =>
        (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM login_failures")).rows[0]!.n;
      expect(await count()).toBeGreaterThan(0);
      clock.advance(policy.windowMs + 1);
      await failTimes(`${randomUUID()}@example.com`, 1);
      expect(await count()).toBe(1);
    });
  });

  describe.skipIf(!available)("stored hashes", () => {
    it("re-hashes an older, weaker hash on a successful login, with the current parameters", async () => {
      const older = createPasswordHasher({ params: { logN: 8, r: 8, p: 1 } });
      const user = await addUser("", await older.hash("right password"));
      expect((await auth.authenticate(user.email, "right password")).id).toBe(user.id);
      const upgraded = await storedHash(user.id);
      expect(parsePasswordHash(upgraded)?.params).toEqual(current);
      expect(await hasher.check("right password", upgraded)).toBe("valid");
      // A wrong password never re-hashes.
      const other = await addUser("", await older.hash("right password"));
      const before = await storedHash(other.id);
      await errorOf(auth.authenticate(other.email, "wrong password"));
      expect(await storedHash(other.id)).toBe(before);
    });

    it("lets concurrent logins re-hash at once: both succeed, one hash is kept", async () => {
      const older = createPasswordHasher({ params: { logN: 9, r: 8, p: 1 } });
      const user = await addUser("", await older.hash("right password"));
      const [a, b] = await Promise.all([
        auth.authenticate(user.email, "right password"),
        authenticator().authenticate(user.email, "right password"),
      ]);
      expect([a.id, b.id]).toEqual([user.id, user.id]);
      expect(await hasher.check("right password", await storedHash(user.id))).toBe("valid");
      expect((await auth.authenticate(user.email, "right password")).id).toBe(user.id);
    });

    it.each([
      ["more memory than the current parameters", "$scrypt$ln=11,r=8,p=1$"],
      ["over 4x their CPU", "$scrypt$ln=9,r=8,p=9$"],
      ["the 4 GiB the old bounds allowed", "$scrypt$ln=20,r=32,p=16$"],
    ])("answers a stored hash needing %s like a wrong password, and logs it", async (_, prefix) => {
      const key = "AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
      const user = await addUser("", `${prefix}${key}`);
      const error = await errorOf(auth.authenticate(user.email, "any password"));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.message).toBe("invalid credentials");
      const line = logLines.find((l) => l.includes(user.id));
      expect(line).toContain("out-of-bounds");
      expect(await storedHash(user.id)).toBe(`${prefix}${key}`);
    });
  });
});
