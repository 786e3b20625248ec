import { describe, expect, it } from "vitest";
import { migrationLockKey, setupLockKey } from "./advisory-lock-key.ts";
import { assertServiceName, quoteIdent, quoteLiteral, roleOf } from "./sql-names.ts";

describe("sql names", () => {
  it("accepts service names that make valid schema and role names", () => {
    for (const name of ["users", "catalog_v2", "a", "x".repeat(52)]) {
      expect(() => assertServiceName(name)).not.toThrow();
      expect(roleOf(name).length).toBeLessThanOrEqual(63);
    }
  });

  it.each(["", "Users", "9lives", "a-b", "a b", "public", "pg_catalog", "x".repeat(53)])(
    "refuses %j",
    (name) => {
      expect(() => assertServiceName(name)).toThrow(/invalid service name/);
    },
  );

  it("quotes identifiers and literals", () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });

  it("derives stable int4 advisory keys per schema", () => {
    const key = migrationLockKey("orders");
    expect(migrationLockKey("orders")).toBe(key);
    expect(migrationLockKey("users")).not.toBe(key);
    expect(Number.isInteger(key) && key >= -(2 ** 31) && key < 2 ** 31).toBe(true);
    expect(setupLockKey).toBe(0);
  });
});
