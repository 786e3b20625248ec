import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createLogger } from "@plexus/core";
import {
  contentType,
  expectApiResponse as checkResponse,
  httpMethod as method,
  pathSegment,
  queryString,
  requestBody,
  requestHeaders as headers,
} from "@plexus/testing";
import { createGateway, type Gateway } from "./gateway.ts";
import { AUDIENCE, ISSUER, createTestIssuer } from "./jwt-test-keys.ts";
import { createJwtVerifier } from "./jwt-verifier.ts";
import { paginate, parsePagination } from "./pagination.ts";
import { parseWith } from "./parse-with.ts";
import { createTestClient, rawRequest, type TestResponse } from "./test-client.ts";

const Thing = z.object({ name: z.string().min(1), tags: z.array(z.string()).max(5) }).strict();

const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(
        pathSegment([
          "api",
          "v1",
          "things",
          "users",
          "me",
          "health",
          "live",
          "ready",
          "metrics",
          "t1",
        ]),
        { maxLength: 6 },
      )
      .map((s) => `/${s.join("/")}`),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "/api/v1/things",
      "/api/v1/things/t1",
      "/api/v1/things/%E2%82%AC",
      "/api/v1/users/me",
      "/health/live",
      "/health/ready",
      "/metrics",
    ),
  },
  { weight: 1, arbitrary: fc.nat({ max: 20_000 }).map((n) => `/api/v1/things/${"a".repeat(n)}`) },
);
const query = queryString(["page", "limit", "q", "category", "a"]);
const body = requestBody((v) => ({ name: "n", tags: [], v }));

describe("gateway properties (fast-check, real HTTP)", () => {
  let gateway: Gateway;
  let client: ReturnType<typeof createTestClient>;
  let port: number;

  beforeAll(async () => {
    const issuer = await createTestIssuer();
    gateway = createGateway({
      logger: createLogger({ name: "fuzz", level: "silent" }),
      authenticator: createJwtVerifier({
        getJwks: async () => issuer.jwks(),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      rateLimit: { defaultLimit: 1_000_000 },
      readiness: { things: async () => true },
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/things",
      handler: (req) => {
        const { page, limit } = parsePagination(req.query);
        return { body: paginate([{ id: "t1" }], { page, limit, total: 1 }, req.url) };
      },
    });
    gateway.route({
      method: "POST",
      path: "/api/v1/things",
      handler: (req) => ({ status: 201, body: { data: parseWith(Thing, req.body) } }),
    });
    gateway.route({
      method: "PUT",
      path: "/api/v1/things/:id",
      body: "json",
      handler: (req) => ({ body: { data: { id: req.params["id"], body: req.body } } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/things/:id",
      handler: (req) => ({ body: { data: { id: req.params["id"], q: [...req.query.keys()] } } }),
    });
    gateway.route({
      method: "GET",
      path: "/api/v1/users/me",
      auth: true,
      handler: (req) => ({ body: { data: req.principal } }),
    });
    const listening = await gateway.listen({ host: "127.0.0.1" });
    port = listening.port;
    client = createTestClient(listening.url);
  });

  afterAll(async () => {
    await client.close();
    await gateway.close();
  });

  it("never answers 5xx, always with ids, and with the error shape on every 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
        const withBody = b !== undefined && m !== "GET" && m !== "HEAD";
        let res: TestResponse;
        try {
          res = await client.call(m, p + q, {
            headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== "")),
            body: withBody ? b : undefined,
          });
        } catch (error) {
          // The client itself refused to send this request (e.g. a header it deems invalid).
          if ((error as { code?: string }).code === "UND_ERR_INVALID_ARG") return;
          throw error;
        }
        checkResponse(m, res);
      }),
      { numRuns: 300 },
    );
  });

  it("body routes answer only the body statuses of API.md for any content type and body", async () => {
    const bodyRoute = fc.constantFrom(["POST", "/api/v1/things"], ["PUT", "/api/v1/things/t1"]);
    const expected = new Set([200, 201, 400, 413, 414, 415, 422]);
    await fc.assert(
      fc.asyncProperty(bodyRoute, contentType, body, async ([m, p], type, b) => {
        const res = await client.call(m, p, {
          headers: type === "" ? {} : { "content-type": type },
          body: b,
        });
        checkResponse(m, res);
        expect(expected, `${res.status} ${res.text}`).toContain(res.status);
      }),
      { numRuns: 200 },
    );
  });

  it("answers malformed HTTP on the wire with a 4xx in the error shape or just closes", async () => {
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
      fc
        .tuple(
          fc.constantFrom("GET", "POST", "BREW", "get", "G ET", ""),
          fc.string({ maxLength: 50 }),
          fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "HTTP/1.1 extra"),
          fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), {
            maxLength: 4,
          }),
        )
        .map(
          ([m, target, version, hs]) =>
            `${m} ${target} ${version}\r\nHost: x\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join("")}Connection: close\r\n\r\n`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(line, async (data) => {
        const answer = await rawRequest(port, data);
        if (answer === "") return;
        const status = /^HTTP\/1\.[01] (\d{3}) /.exec(answer);
        expect(status, answer.slice(0, 200)).not.toBeNull();
        const code = Number(status![1]);
        expect(code, answer.slice(0, 300)).toBeLessThan(500);
        if (code >= 400 && !/^HEAD /.test(data)) {
          const json = answer.slice(answer.indexOf("\r\n\r\n") + 4);
          const parsed = JSON.parse(json) as { error: Record<string, unknown> };
          expect(Object.keys(parsed.error).sort()).toEqual(
            expect.arrayContaining(["code", "message", "path", "requestId", "timestamp"]),
          );
        }
      }),
      { numRuns: 150 },
    );
  });
});
