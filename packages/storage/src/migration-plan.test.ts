import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pendingMigrations, validateMigrations } from "./migration-plan.ts";

const m = (id: number, name = `m${id}`) => ({ id, name, sql: `-- ${name}` });
const applied = (id: number, name = `m${id}`) => ({ id, name, checksum: "x" });

describe("validateMigrations", () => {
  it("accepts an empty list and strictly ascending ids", () => {
    expect(() => validateMigrations("s", [])).not.toThrow();
    expect(() => validateMigrations("s", [m(0), m(1), m(20240101)])).not.toThrow();
  });

  it.each([
    [[m(2), m(1)], /strictly ascending, but 1 \(m1\) follows 2/],
    [[m(1), m(1, "again")], /strictly ascending/],
    [[m(-1)], /non-negative integer/],
    [[m(1.5)], /non-negative integer/],
    [[m(Number.NaN)], /non-negative integer/],
    [[{ id: 1, name: " ", sql: "" }], /has no name/],
  ])("rejects %j", (list, message) => {
    expect(() => validateMigrations("s", list)).toThrow(message);
  });
});

describe("pendingMigrations", () => {
  it("returns what is not applied yet, in order", () => {
    expect(pendingMigrations("s", [m(1), m(2), m(3)], [])).toEqual([m(1), m(2), m(3)]);
    expect(pendingMigrations("s", [m(1), m(2), m(3)], [applied(1)])).toEqual([m(2), m(3)]);
    expect(pendingMigrations("s", [m(1), m(2)], [applied(1), applied(2)])).toEqual([]);
  });

  it("refuses a list that dropped, renamed or slotted in below an applied migration", () => {
    expect(() => pendingMigrations("s", [m(1)], [applied(1), applied(2)])).toThrow(
      /migration 2 \(m2\) was applied.*no longer in the list/,
    );
    expect(() => pendingMigrations("s", [m(1, "new")], [applied(1)])).toThrow(/now named "new"/);
    expect(() => pendingMigrations("s", [m(1), m(2), m(3)], [applied(1), applied(3)])).toThrow(
      /migration 2 \(m2\) is not applied but 3 already is/,
    );
  });

  it("applied + pending always rebuilds the full list for any valid prefix", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 10_000 }), { maxLength: 20 }),
        fc.nat(),
        (ids, cut) => {
          const list = [...ids].sort((a, b) => a - b).map((id) => m(id));
          const prefix = list.slice(0, cut % (list.length + 1));
          const pending = pendingMigrations(
            "s",
            list,
            prefix.map((x) => applied(x.id)),
          );
          expect([...prefix, ...pending]).toEqual(list);
        },
      ),
    );
  });
});
