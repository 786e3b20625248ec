import { describe, expect, it } from "vitest";
import { parseInt8, pgTypeParsers } from "./type-parsers.ts";

const parserOf = (oid: number) =>
  (pgTypeParsers.getTypeParser as (oid: number) => (text: string) => unknown)(oid);

describe("type parsers", () => {
  it("turns int8 into a number when safe, a bigint otherwise", () => {
    expect(parseInt8("42")).toBe(42);
    expect(parseInt8("-9007199254740991")).toBe(-9007199254740991);
    expect(parseInt8("9007199254740992")).toBe(9007199254740992n);
  });

  it("parses node-postgres arrays of int8 and date like PGlite does", () => {
    const int8s = parserOf(1016);
    expect(int8s("{1,NULL,9007199254740993}")).toEqual([1, null, 9007199254740993n]);
    expect(int8s("{{1,2},{3,4}}")).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const dates = parserOf(1182);
    expect(dates("{2024-01-01,2024-02-29}")).toEqual(["2024-01-01", "2024-02-29"]);
    const date = parserOf(1082);
    expect(date("2024-02-29")).toBe("2024-02-29");
  });
});
