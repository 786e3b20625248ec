import { Writable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import {
  Code,
  createLogger,
  PlexusError,
  systemClock,
  retryAfterMsOf,
  type Clock,
  type Db,
  type HandlerContext,
  type Principal,
  type ServiceEnv,
} from "@plexus/core";
import { validatedHandlers } from "@plexus/rpc";
import { openStorage, type Storage } from "@plexus/storage";
import { createFakeClock } from "@plexus/testing";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateUserRequestSchema,
  CreateUserResponseSchema,
  GetJwksRequestSchema,
  GetUserRequestSchema,
  GetUserResponseSchema,
  IssueTokenRequestSchema,
  IssueTokenResponseSchema,
} from "../../gen/shop/users/v1/users_pb.js";
import { createSqlUserRepository } from "./adapters/sql-user-repository.ts";
import { usersService } from "./service.ts";
import { createServiceTestEnv } from "../service-test-env.ts";
import { errorOf } from "../test-errors.ts";

type Handlers = Awaited<ReturnType<typeof usersService.create>>["handlers"];

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const rfc3339Pattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

let storage: Storage;
let db: Db;
let handlers: Handlers;
/** Every log line the service wrote, to prove no password ever reaches a log. */
const logLines: string[] = [];

function ctxOf(principal?: Principal): HandlerContext {
  return {
    context: { correlationId: "test-correlation", requestId: "test-request", principal },
    header: new Headers(),
    signal: new AbortController().signal,
  };
}

async function start(
  on: Db = db,
  config: Record<string, string | undefined> = {},
  clock: Clock = systemClock,
): Promise<Handlers> {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const env: ServiceEnv = createServiceTestEnv({
    name: usersService.name,
    db: on,
    logger: createLogger({ name: "users-test", level: "debug", destination }),
    clock,
    config,
  });
  return validatedHandlers(usersService.contract, (await usersService.create(env)).handlers);
}

// Handlers answer init shapes (fields optional); `create` gives the message a client would see.
async function createUser(email: string, name = "Ada Lovelace", password = "correct horse") {
  const request = create(CreateUserRequestSchema, { email, name, password });
  return create(CreateUserResponseSchema, await handlers.createUser(request, ctxOf())).user!;
}

async function issueToken(email: string, password: string, on: Handlers = handlers) {
  const request = create(IssueTokenRequestSchema, { email, password });
  return create(IssueTokenResponseSchema, await on.issueToken(request, ctxOf()));
}

async function getUser(id: string, principal?: Principal) {
  const request = create(GetUserRequestSchema, { id });
  return create(GetUserResponseSchema, await handlers.getUser(request, ctxOf(principal))).user!;
}

async function jwksOf(on: Handlers = handlers): Promise<JSONWebKeySet> {
  const response = await on.getJwks(create(GetJwksRequestSchema), ctxOf());
  return JSON.parse(response.jwksJson ?? "") as JSONWebKeySet;
}

let counter = 0;
function uniqueEmail(): string {
  counter++;
  return `user${counter}.${Date.now()}@example.com`;
}

beforeAll(async () => {
  storage = await openStorage({});
  db = await storage.forService(usersService.name, usersService.migrations);
  handlers = await start();
});

afterAll(async () => {
  await storage.close();
});

describe("CreateUser", () => {
  it("registers a user: UUID id, trimmed fields, email case kept, RFC 3339 createdAt", async () => {
    const before = Date.now();
    const user = await createUser("  Grace.Hopper@Example.COM ", "  Grace Hopper\t");
    expect(user.id).toMatch(uuidPattern);
    expect(user.email).toBe("Grace.Hopper@Example.COM");
    expect(user.name).toBe("Grace Hopper");
    expect(user.createdAt).toMatch(rfc3339Pattern);
    expect(Date.parse(user.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(user.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(JSON.stringify(user)).not.toContain("correct horse");
  });

  it("stores only a scrypt hash of the password, and never logs it", async () => {
    const email = uniqueEmail();
    const password = "a very particular password";
    const user = await createUser(email, "Hash Me", password);
    const rows = await db.query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE id = $1",
      [user.id],
    );
    expect(rows.rows[0]?.password_hash).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
    expect(rows.rows[0]?.password_hash).not.toContain(password);
    await issueToken(email, password);
    await errorOf(issueToken(email, `${password}!`));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toContain(password);
  });

  it("refuses a duplicate email, whatever its case, with EMAIL_EXISTS", async () => {
    const email = uniqueEmail();
    await createUser(email);
    for (const again of [email, email.toUpperCase(), `  ${email.replace("user", "User")} `]) {
      const error = await errorOf(createUser(again, "Someone Else", "another password"));
      expect(error.code).toBe(Code.AlreadyExists);
      expect(error.reason).toBe("EMAIL_EXISTS");
    }
  });

  it("lets exactly one of two concurrent registrations of one email (case apart) win", async () => {
    const email = uniqueEmail();
    const results = await Promise.allSettled([
      createUser(email.toLowerCase(), "First"),
      createUser(email.toUpperCase(), "Second"),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const error = (lost[0] as PromiseRejectedResult).reason as PlexusError;
    expect(error).toBeInstanceOf(PlexusError);
    expect(error.reason).toBe("EMAIL_EXISTS");
    const count = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)",
      [email],
    );
    expect(count.rows[0]?.n).toBe(1);
  });

  it("turns a unique violation at insert time into email-taken (the race's losing path)", async () => {
    const repository = createSqlUserRepository(db);
    const email = uniqueEmail();
    const row = {
      id: crypto.randomUUID(),
      email,
      name: "Racer",
      tier: "free",
      createdAt: new Date().toISOString(),
      passwordHash:
        "$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    expect(await repository.insert(row)).toBe("created");
    expect(
      await repository.insert({ ...row, id: crypto.randomUUID(), email: email.toUpperCase() }),
    ).toBe("email-taken");
  });

  it("reports every invalid field at once as a validation error", async () => {
    const error = await errorOf(createUser("not-an-email", "   ", "short"));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual(["email", "name", "password"]);
    const single = await errorOf(createUser(uniqueEmail(), "Ok Name", "1234567"));
    expect(single.details.map((d) => d.field)).toEqual(["password"]);
  });
});

describe("IssueToken and GetJwks", () => {
  it("issues an EdDSA JWT that verifies against the published JWKS", async () => {
    const email = uniqueEmail();
    const user = await createUser(email, "Token Holder", "token password");
    const before = Math.floor(Date.now() / 1000);
    const token = await issueToken(`  ${email.toUpperCase()} `, "token password");
    expect(token.expiresIn).toBe(900);

    const jwks = await jwksOf();
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: expect.any(String),
      kid: expect.any(String),
      alg: "EdDSA",
      use: "sig",
    });
    expect(decodeProtectedHeader(token.accessToken)).toMatchObject({ alg: "EdDSA", kid: key!.kid });

    const { payload } = await jwtVerify(token.accessToken, createLocalJWKSet(jwks), {
      algorithms: ["EdDSA"],
      issuer: "plexus-shop",
      audience: "plexus-shop-api",
    });
    expect(payload.sub).toBe(user.id);
    expect(payload.tier).toBe("free");
    expect(payload.iat).toBeGreaterThanOrEqual(before - 1);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat! + 900);
  });

  it("answers an unknown email and a wrong password with the same error", async () => {
    const email = uniqueEmail();
    await createUser(email, "Careful", "right password");
    const wrongPassword = await errorOf(issueToken(email, "wrong password"));
    const unknownEmail = await errorOf(issueToken(uniqueEmail(), "right password"));
    const empty = await errorOf(issueToken("", ""));
    const huge = await errorOf(issueToken(email, "x".repeat(5000)));
    for (const error of [wrongPassword, unknownEmail, empty, huge]) {
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.message).toBe("invalid credentials");
      expect(error.reason).toBeUndefined();
    }
  });

  it("limits failed logins per account as configured, answering RATE_LIMITED with a hint", async () => {
    const clock = createFakeClock(Date.now());
    const limited = await start(
      db,
      {
        PLEXUS_LOGIN_MAX_FAILURES: "2",
        PLEXUS_LOGIN_FAILURE_WINDOW_MS: "60000",
      },
      clock,
    );
    const email = uniqueEmail();
    await createUser(email, "Limited", "right password");
    for (const attempt of ["wrong one", "wrong two"]) {
      expect((await errorOf(issueToken(email, attempt, limited))).code).toBe(Code.Unauthenticated);
    }
    const refused = await errorOf(issueToken(email, "right password", limited));
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(retryAfterMsOf(refused)).toBe(60_000);
    clock.advance(60_000);
    expect((await issueToken(email, "right password", limited)).accessToken).toBeTruthy();
  });

  it("signs with the issuer and audience from config", async () => {
    const custom = await start(db, {
      PLEXUS_JWT_ISSUER: "https://issuer.test",
      PLEXUS_JWT_AUDIENCE: "aud.test",
    });
    const email = uniqueEmail();
    await createUser(email, "Configured", "configured password");
    const token = await issueToken(email, "configured password", custom);
    const { payload } = await jwtVerify(
      token.accessToken,
      createLocalJWKSet(await jwksOf(custom)),
      {
        algorithms: ["EdDSA"],
        issuer: "https://issuer.test",
        audience: "aud.test",
      },
    );
    expect(payload.iss).toBe("https://issuer.test");
  });

  it("keeps its signing key across restarts: a new instance on the same Db reuses it", async () => {
    const email = uniqueEmail();
    await createUser(email, "Persistent", "persistent password");
    const token = await issueToken(email, "persistent password");
    const restarted = await start();
    const jwks = await jwksOf(restarted);
    expect(jwks).toEqual(await jwksOf());
    await jwtVerify(token.accessToken, createLocalJWKSet(jwks), {
      algorithms: ["EdDSA"],
      issuer: "plexus-shop",
      audience: "plexus-shop-api",
    });
    const keys = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM signing_keys");
    expect(keys.rows[0]?.n).toBe(1);
  });

  it("ends concurrent first starts with a single active key that all of them sign with", async () => {
    const fresh = await storage.forService("users_first_start", usersService.migrations);
    const instances = await Promise.all([start(fresh), start(fresh), start(fresh)]);
    const active = await fresh.query<{ kid: string }>("SELECT kid FROM signing_keys WHERE active");
    expect(active.rows).toHaveLength(1);
    const kid = active.rows[0]!.kid;

    const request = create(CreateUserRequestSchema, {
      email: "first@example.com",
      name: "First Start",
      password: "first start password",
    });
    await instances[0].createUser(request, ctxOf());
    for (const instance of instances) {
      const jwks = await jwksOf(instance);
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
      const { accessToken } = await issueToken(
        "first@example.com",
        "first start password",
        instance,
      );
      expect(decodeProtectedHeader(accessToken).kid).toBe(kid);
      await jwtVerify(accessToken, createLocalJWKSet(jwks), {
        algorithms: ["EdDSA"],
        issuer: "plexus-shop",
        audience: "plexus-shop-api",
      });
    }
  });
});

describe("GetUser", () => {
  it("returns the user, without any password material", async () => {
    const created = await createUser(uniqueEmail(), "Readable");
    const read = await getUser(created.id);
    expect(read).toEqual(created);
    expect(await getUser(created.id, { subject: created.id })).toEqual(created);
  });

  it.each(["00000000-0000-4000-8000-000000000000", "not-a-uuid", "'; DROP TABLE users; --"])(
    "answers USER_NOT_FOUND for %j",
    async (id) => {
      const error = await errorOf(getUser(id));
      expect(error.code).toBe(Code.NotFound);
      expect(error.reason).toBe("USER_NOT_FOUND");
    },
  );

  // users.proto refuses these before the handler (the gateway answers them 404).
  it.each(["", "x".repeat(5000), "u\u0000"])("refuses id %j as invalid", async (id) => {
    expect((await errorOf(getUser(id))).reason).toBe("VALIDATION_ERROR");
  });

  it("hides another user from an authenticated caller (USER_NOT_FOUND)", async () => {
    const other = await createUser(uniqueEmail(), "Private");
    const error = await errorOf(getUser(other.id, { subject: crypto.randomUUID() }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.reason).toBe("USER_NOT_FOUND");
  });
});
