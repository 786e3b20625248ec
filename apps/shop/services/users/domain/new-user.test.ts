import { create } from "@bufbuild/protobuf";
import { Code, PlexusError } from "@plexus/core";
import { validatorOf, violationsOf } from "@plexus/rpc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CreateUserRequestSchema } from "../../../gen/shop/users/v1/users_pb.js";
import { maxPasswordLength, normalizeNewUser } from "./new-user.ts";

// The registration rules live in users.proto (CreateUserRequest); these tests pin them down.
const maxEmailLength = 254;
const maxNameLength = 200;
const minPasswordLength = 8;

const valid = { email: "ada@example.com", name: "Ada Lovelace", password: "correct horse" };

function fieldsOf(input: { email: string; name: string; password: string }): string[] {
  return violationsOf(CreateUserRequestSchema, create(CreateUserRequestSchema, input)).map(
    (v) => v.field,
  );
}

const isValidEmail = (email: string): boolean => !fieldsOf({ ...valid, email }).includes("email");

describe("the email rule", () => {
  it.each([
    "ada@example.com",
    "Ada.Lovelace+shop@Mail.Example.co.uk",
    "a_b-c@sub-domain.example.io",
    "x@xn--80ak6aa92e.com",
  ])("accepts %s", (email) => {
    expect(isValidEmail(email)).toBe(true);
  });

  it.each([
    "",
    "plainaddress",
    "@example.com",
    "ada@",
    "ada@example",
    "ada@@example.com",
    "ada@example..com",
    "ada@-example.com",
    "ada@example-.com",
    ".ada@example.com",
    "ada.@example.com",
    "a..da@example.com",
    "ada lovelace@example.com",
    "ada@exa mple.com",
    "ada@example.123",
    "ada@example.c",
    "adä@example.com",
    "ada@exämple.com",
    `${"a".repeat(65)}@example.com`,
    `ada@${"a".repeat(64)}.com`,
  ])("rejects %j", (email) => {
    expect(isValidEmail(email)).toBe(false);
  });

  it("never accepts an address longer than the limit", () => {
    const long = `${"a".repeat(60)}@${Array.from({ length: 4 }, () => "b".repeat(60)).join(".")}.com`;
    expect(long.length).toBeGreaterThan(maxEmailLength);
    expect(isValidEmail(long)).toBe(false);
  });

  it("accepts every well-formed local@label.tld (property)", () => {
    const atom = fc.stringMatching(/^[a-z0-9+_-]{1,20}$/);
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const tld = fc.stringMatching(/^[a-z]{2,6}$/);
    fc.assert(
      fc.property(
        fc.array(atom, { minLength: 1, maxLength: 3 }),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        tld,
        (local, domain, top) => {
          expect(isValidEmail(`${local.join(".")}@${domain.join(".")}.${top}`)).toBe(true);
        },
      ),
    );
  });

  it("rejects anything without exactly the structure of an address (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        fc.pre(!s.includes("@"));
        expect(isValidEmail(s)).toBe(false);
      }),
    );
  });
});

describe("normalizeNewUser", () => {
  it("trims email and name, keeps the password as typed", () => {
    const user = normalizeNewUser({
      email: "  Ada@Example.com\n",
      name: "\tAda Lovelace ",
      password: "  spaced  ",
    });
    expect(user).toEqual({
      email: "Ada@Example.com",
      name: "Ada Lovelace",
      password: "  spaced  ",
    });
  });
});

describe("the registration rules (users.proto)", () => {
  it("throw a validation error listing every violated field at once", () => {
    let caught: unknown;
    try {
      validatorOf(CreateUserRequestSchema)(
        create(CreateUserRequestSchema, { email: "nope", name: "   ", password: "short" }),
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PlexusError);
    const error = caught as PlexusError;
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("VALIDATION_ERROR");
    expect(error.details.map((d) => d.field)).toEqual(["email", "name", "password"]);
    for (const d of error.details) expect(d.message).not.toBe("");
  });

  it("accepts a valid registration", () => {
    expect(fieldsOf(valid)).toEqual([]);
  });

  it("refuses an email over 254 characters", () => {
    const email = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`;
    expect(email.length).toBeGreaterThan(maxEmailLength);
    expect(fieldsOf({ ...valid, email })).toEqual(["email"]);
  });

  it("refuses names with control characters", () => {
    expect(fieldsOf({ ...valid, name: "Ada\u0000Lovelace" })).toEqual(["name"]);
  });

  it("password: valid iff it has 8..1024 characters (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-composite", maxLength: 1100 }), (password) => {
        const length = [...password].length;
        const ok = length >= minPasswordLength && length <= maxPasswordLength;
        expect(fieldsOf({ ...valid, password }).includes("password")).toBe(!ok);
      }),
    );
  });

  it("password: counts characters, not UTF-16 units", () => {
    expect(fieldsOf({ ...valid, password: "🔑".repeat(7) })).toEqual(["password"]);
    expect(fieldsOf({ ...valid, password: "🔑".repeat(8) })).toEqual([]);
    expect(fieldsOf({ ...valid, password: "🔑".repeat(maxPasswordLength) })).toEqual([]);
  });

  it("name: valid iff not blank, at most 200 characters, no control inside (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 220 }),
        fc.constantFrom("", " ", "\t", "  \n"),
        (core, pad) => {
          const name = `${pad}${core}${pad}`;
          const trimmed = name.trim();
          const ok =
            trimmed.length > 0 &&
            [...name].length <= maxNameLength &&
            // eslint-disable-next-line no-control-regex
            !/[\u0000-\u001f\u007f-\u009f]/.test(trimmed);
          expect(fieldsOf({ ...valid, name }).includes("name")).toBe(!ok);
        },
      ),
    );
  });

  it("email: surrounding whitespace never changes validity (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("ada@example.com", "bad", "x@y.io", "@example.com"),
        fc.stringMatching(/^[ \t\n]{0,4}$/),
        fc.stringMatching(/^[ \t\n]{0,4}$/),
        (email, before, after) => {
          const bare = fieldsOf({ ...valid, email }).includes("email");
          const padded = fieldsOf({ ...valid, email: `${before}${email}${after}` }).includes(
            "email",
          );
          expect(padded).toBe(bare);
        },
      ),
    );
  });

  it("violations are independent: each field's verdict ignores the others (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        (email, name, password) => {
          const all = fieldsOf({ email, name, password });
          expect(all.includes("email")).toBe(fieldsOf({ ...valid, email }).includes("email"));
          expect(all.includes("name")).toBe(fieldsOf({ ...valid, name }).includes("name"));
          expect(all.includes("password")).toBe(
            fieldsOf({ ...valid, password }).includes("password"),
          );
        },
      ),
    );
  });
});
