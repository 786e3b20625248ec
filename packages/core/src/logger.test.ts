import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runInContext } from "./context.ts";
import { createLogger, type Logger } from "./logger.ts";
import { StartupError } from "./startup-error.ts";

/** A logger whose lines are parsed back, one object per line. */
function capture(level = "trace"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ name: "test", level, destination }), lines };
}

describe("createLogger", () => {
  it("writes JSON lines with name, level and message", () => {
    const { logger, lines } = capture("info");
    logger.info({ orderId: "o1" }, "order placed");
    logger.debug("below the level");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: "test", level: 30, msg: "order placed", orderId: "o1" });
  });

  it("stamps correlationId, requestId, caller, traceId and spanId from the current context", async () => {
    const { logger, lines } = capture();
    logger.info("outside");
    await runInContext(
      {
        correlationId: "corr-1",
        requestId: "req-1",
        trace: { traceId: "a".repeat(32), spanId: "b".repeat(16), flags: "01" },
      },
      async () => {
        await new Promise((r) => setTimeout(r, 0));
        logger.info("inside");
        logger.child({ component: "db" }).warn("from a child");
      },
    );
    runInContext({ correlationId: "corr-2", requestId: "req-2", caller: "orders" }, () =>
      logger.info("no trace"),
    );
    expect(lines[0]).not.toHaveProperty("correlationId");
    expect(lines[0]).not.toHaveProperty("requestId");
    for (const line of [lines[1], lines[2]]) {
      expect(line).toMatchObject({
        correlationId: "corr-1",
        requestId: "req-1",
        traceId: "a".repeat(32),
        spanId: "b".repeat(16),
      });
    }
    expect(lines[2]).toMatchObject({ component: "db" });
    expect(lines[1]).not.toHaveProperty("caller");
    expect(lines[3]).toMatchObject({
      correlationId: "corr-2",
      requestId: "req-2",
      caller: "orders",
    });
    expect(lines[3]).not.toHaveProperty("traceId");
  });

  const secret = "s3cr3t-value-that-must-not-leak";

  it("censors secrets at the top level, in any case", () => {
    const { logger, lines } = capture();
    const keys = [
      "password",
      "Password",
      "PASSWORD",
      "passwordHash",
      "token",
      "accessToken",
      "access_token",
      "refreshToken",
      "refresh_token",
      "authorization",
      "Authorization",
      "AUTHORIZATION",
      "cookie",
      "Cookie",
      "set-cookie",
      "Set-Cookie",
      "secret",
      "client_secret",
      "privateKey",
      "apiKey",
      "x-api-key",
      "paymentMethod",
    ];
    for (const key of keys) logger.info({ [key]: secret }, key);
    expect(lines).toHaveLength(keys.length);
    for (const [i, key] of keys.entries()) {
      expect(lines[i]![key], key).toBe("[REDACTED]");
    }
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it("censors secrets nested in objects and arrays, and in headers of any case", () => {
    const { logger, lines } = capture();
    logger.info(
      {
        req: {
          method: "POST",
          headers: {
            Authorization: `Bearer ${secret}`,
            "content-type": "application/json",
            COOKIE: `sid=${secret}`,
          },
          body: { user: { email: "a@b.c", password: secret } },
        },
        res: { headers: { "Set-Cookie": [`sid=${secret}`] } },
        attempts: [{ token: secret, n: 1 }],
        headers: { authorization: secret, AuThOrIzAtIoN: secret },
      },
      "request",
    );
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain(secret);
    const req = lines[0]!["req"] as Record<string, Record<string, unknown>>;
    expect(req["headers"]!["Authorization"]).toBe("[REDACTED]");
    expect(req["headers"]!["content-type"]).toBe("application/json");
    expect(req["method"]).toBe("POST");
    expect(req["body"]).toEqual({ user: { email: "a@b.c", password: "[REDACTED]" } });
    expect(lines[0]!["attempts"]).toEqual([{ token: "[REDACTED]", n: 1 }]);
  });

  it("censors secrets in child bindings", () => {
    const { logger, lines } = capture();
    const child = logger.child({ headers: { Authorization: secret }, Cookie: secret, a: 1 });
    child.info("child");
    child.child({ b: 2, SESSION_TOKEN: secret }).info("grandchild");
    expect(JSON.stringify(lines)).not.toContain(secret);
    expect(lines[0]).toMatchObject({ a: 1, Cookie: "[REDACTED]" });
    expect(lines[1]).toMatchObject({ a: 1, b: 2, SESSION_TOKEN: "[REDACTED]" });
  });

  it("does not modify the caller's objects", () => {
    const { logger } = capture();
    const headers = { Authorization: secret };
    const payload = { password: secret, headers };
    logger.info(payload, "x");
    expect(payload.password).toBe(secret);
    expect(headers.Authorization).toBe(secret);
  });

  it("keeps ordinary fields that merely contain a secret word", () => {
    const { logger, lines } = capture();
    logger.info({ tokenType: "Bearer", expiresIn: 900, passwordPolicy: "min 8" }, "x");
    expect(lines[0]).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 900,
      passwordPolicy: "min 8",
    });
  });

  it("defaults the level to PLEXUS_LOG_LEVEL, else info", () => {
    const before = process.env["PLEXUS_LOG_LEVEL"];
    try {
      delete process.env["PLEXUS_LOG_LEVEL"];
      expect(createLogger({ name: "a", destination: new Writable() }).level).toBe("info");
      process.env["PLEXUS_LOG_LEVEL"] = "warn";
      expect(createLogger({ name: "b", destination: new Writable() }).level).toBe("warn");
    } finally {
      if (before === undefined) delete process.env["PLEXUS_LOG_LEVEL"];
      else process.env["PLEXUS_LOG_LEVEL"] = before;
    }
  });
});

describe("PLEXUS_LOG_LEVEL", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("sets the level; blank means info", () => {
    vi.stubEnv("PLEXUS_LOG_LEVEL", "debug");
    expect(createLogger({ name: "t" }).level).toBe("debug");
    vi.stubEnv("PLEXUS_LOG_LEVEL", " ");
    expect(createLogger({ name: "t" }).level).toBe("info");
  });

  it("refuses an unknown level with a start-up error naming the levels", () => {
    vi.stubEnv("PLEXUS_LOG_LEVEL", "verbose");
    expect(() => createLogger({ name: "t" })).toThrow(StartupError);
    expect(() => createLogger({ name: "t" })).toThrow(
      'PLEXUS_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    );
  });
});
