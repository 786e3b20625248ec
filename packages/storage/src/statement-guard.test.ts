import { describe, expect, it } from "vitest";
import { assertNotTransactionControl } from "./statement-guard.ts";

describe("assertNotTransactionControl", () => {
  it.each([
    "BEGIN",
    "begin;",
    "  START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "COMMIT",
    "end",
    "ABORT",
    "ROLLBACK",
    "rollback;",
    "-- sneaky\nBEGIN",
    "/* a */ /* b */ commit",
    "PREPARE TRANSACTION 'x'",
  ])("refuses %j", (sql) => {
    expect(() => assertNotTransactionControl(sql)).toThrow(/use transaction\(fn\)/);
  });

  it.each([
    "SELECT 1",
    "SELECT begin FROM t",
    "ROLLBACK TO SAVEPOINT s1",
    "rollback to s1",
    "SAVEPOINT s1",
    "RELEASE SAVEPOINT s1",
    "UPDATE t SET commit = true",
    "beginning",
    "-- BEGIN\nSELECT 1",
  ])("allows %j", (sql) => {
    expect(() => assertNotTransactionControl(sql)).not.toThrow();
  });
});
