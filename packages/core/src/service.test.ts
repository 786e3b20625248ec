import type { DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { Projection } from "./projection.ts";
import { defineService, type ServiceDefinition } from "./service.ts";

// defineService validates only names, migration ids and projection names; a contract stand-in suffices here.
const contract = { typeName: "test.v1.TestService", method: {} } as unknown as DescService;

function definition(overrides: Partial<ServiceDefinition> = {}): ServiceDefinition {
  return {
    name: "catalog",
    contract,
    migrations: [
      { id: 1, name: "init", sql: "CREATE TABLE t (id int)" },
      { id: 2, name: "more", sql: "ALTER TABLE t ADD c int" },
    ],
    create: () => ({ handlers: {} }),
    ...overrides,
  };
}

describe("defineService", () => {
  it("returns the definition unchanged", () => {
    const def = definition();
    expect(defineService(def)).toBe(def);
  });

  it("accepts lowercase names with digits and underscores, up to 63 characters", () => {
    for (const name of ["a", "orders", "read_model_2", "a".repeat(63)]) {
      expect(() => defineService(definition({ name }))).not.toThrow();
    }
  });

  it("rejects names that are not safe schema names", () => {
    for (const name of [
      "",
      "Catalog",
      "2fast",
      "_hidden",
      "with-dash",
      "with space",
      "a".repeat(64),
      'x"; DROP SCHEMA public; --',
    ]) {
      expect(() => defineService(definition({ name })), name).toThrow(TypeError);
    }
  });

  it("rejects duplicate migration ids", () => {
    expect(() =>
      defineService(
        definition({
          migrations: [
            { id: 1, name: "a", sql: "" },
            { id: 1, name: "b", sql: "" },
          ],
        }),
      ),
    ).toThrow(/duplicate migration ids/);
  });

  it("accepts no migrations", () => {
    expect(() => defineService(definition({ migrations: [] }))).not.toThrow();
  });

  it("rejects invalid and duplicate projection names", () => {
    const projection = (name: string): Projection => ({
      name,
      log: "events",
      types: ["*"],
      apply: async () => {},
      reset: async () => {},
    });
    expect(() =>
      defineService(definition({ projections: [projection("order-history"), projection("b_2")] })),
    ).not.toThrow();
    for (const name of ["", "History", "a b", "x'"]) {
      expect(() => defineService(definition({ projections: [projection(name)] })), name).toThrow(
        /invalid projection name/,
      );
    }
    expect(() =>
      defineService(definition({ projections: [projection("h"), projection("h")] })),
    ).toThrow(/duplicate projection names/);
  });
});
