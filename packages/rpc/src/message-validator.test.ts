import {
  create,
  createFileRegistry,
  setExtension,
  type DescMessage,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import type { FieldDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, PlexusError } from "@plexus/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  field as fieldRules,
  FieldRulesSchema,
  file_plexus_validate_v1_validate,
  StringFormat,
} from "./gen/plexus/validate/v1/validate_pb.js";
import { fieldViolation, validatorOf, violationsOf } from "./message-validator.ts";

type Rules = MessageInitShape<typeof FieldRulesSchema>;

function fieldOf(
  name: string,
  number: number,
  type: Type,
  rules?: Rules,
  extra: { label?: Label; typeName?: string } = {},
): MessageInitShape<typeof FieldDescriptorProtoSchema> {
  const options = create(FieldOptionsSchema);
  if (rules !== undefined) setExtension(options, fieldRules, create(FieldRulesSchema, rules));
  return { name, number, type, label: Label.OPTIONAL, jsonName: name, options, ...extra };
}

/** Builds a message type at run time, as buf would from a .proto with these annotations. */
function messageType(name: string, fields: ReturnType<typeof fieldOf>[]): DescMessage {
  const file = create(FileDescriptorProtoSchema, {
    name: `${name.toLowerCase()}.proto`,
    package: "test",
    syntax: "proto3",
    dependency: ["plexus/validate/v1/validate.proto"],
    messageType: [{ name, field: fields }],
  });
  const registry = createFileRegistry(file, (path) =>
    path === "plexus/validate/v1/validate.proto" ? file_plexus_validate_v1_validate : undefined,
  );
  const desc = registry.getMessage(`test.${name}`);
  if (desc === undefined) throw new Error("no such message");
  return desc;
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const Probe = messageType("Probe", [
  fieldOf("text", 1, Type.STRING, { string: { minLen: 2, maxLen: 5 } }),
  fieldOf("free", 2, Type.STRING),
  fieldOf("count", 3, Type.INT32, { int: { gte: -3n, lte: 7n } }),
  fieldOf("big", 4, Type.INT64, { int: { gte: 0n, lte: maxSafe } }),
  fieldOf(
    "tags",
    5,
    Type.STRING,
    { repeated: { minItems: 1, maxItems: 3, items: { string: { maxLen: 4 } } } },
    { label: Label.REPEATED },
  ),
  fieldOf("child", 6, Type.MESSAGE, undefined, { typeName: ".test.Probe" }),
  fieldOf("key", 7, Type.STRING, {
    string: { minLen: 1, maxLen: 255, formats: [StringFormat.PRINTABLE_ASCII] },
  }),
  fieldOf("code", 8, Type.STRING, {
    string: { pattern: "^[A-Z]{3}$", patternDescription: "a 3-letter code" },
  }),
]);

const valid = { text: "ab", tags: ["t"], key: "k", code: "EUR" };

/** The fields a probe built from `init` (over a valid one) violates. */
function violated(init: Record<string, unknown>): string[] {
  const message = create(Probe, { ...valid, ...init });
  return violationsOf(Probe, message).map((v) => v.field);
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Well-formed text: a lone surrogate next to it stays lone. */
const text = fc.string({ unit: "binary", maxLength: 20 });
const hostileString = fc
  .tuple(text, fc.oneof(fc.constant("\u0000"), loneSurrogate), text)
  .map(([before, bad, after]) => before + bad + after);
const cleanString = text.filter((s) => !s.includes("\u0000"));

describe("violationsOf", () => {
  it("accepts a message within every rule", () => {
    expect(violated({})).toEqual([]);
  });

  it("refuses a NUL or a lone surrogate in any string, annotated or not (property)", () => {
    fc.assert(
      fc.property(hostileString, (bad) => {
        expect(violated({ free: bad })).toEqual(["free"]);
        expect(violated({ child: { ...valid, free: bad } })).toEqual(["child.free"]);
        expect(violated({ tags: ["ok", bad] })).toEqual(["tags[1]"]);
        expect(violated({ text: bad })).toContain("text");
        expect(violated({ key: bad })).toContain("key");
      }),
    );
  });

  it("accepts any well-formed string without NUL where there is no rule (property)", () => {
    fc.assert(
      fc.property(cleanString, (s) => {
        expect(violated({ free: s })).toEqual([]);
      }),
    );
  });

  it("bounds string lengths exactly, in code points (property)", () => {
    const emoji = "\u{1F600}";
    expect(violated({ text: emoji })).toEqual(["text"]);
    expect(violated({ text: emoji.repeat(2) })).toEqual([]);
    expect(violated({ text: emoji.repeat(5) })).toEqual([]);
    expect(violated({ text: emoji.repeat(6) })).toEqual(["text"]);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 8 }), (s) => {
        const count = [...s].length;
        const bad = s.includes("\u0000") || count < 2 || count > 5;
        expect(violated({ text: s })).toEqual(bad ? ["text"] : []);
      }),
    );
  });

  it("bounds integers exactly, 32 and 64 bits (property)", () => {
    for (const [count, bad] of [
      [-4, true],
      [-3, false],
      [7, false],
      [8, true],
    ] as const) {
      expect(violated({ count })).toEqual(bad ? ["count"] : []);
    }
    expect(violated({ big: maxSafe })).toEqual([]);
    expect(violated({ big: maxSafe + 1n })).toEqual(["big"]);
    expect(violated({ big: -1n })).toEqual(["big"]);
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => {
        expect(violated({ count: n })).toEqual(n < -3 || n > 7 ? ["count"] : []);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        expect(violated({ big: n })).toEqual(n < 0n || n > maxSafe ? ["big"] : []);
      }),
    );
  });

  it("bounds repeated fields and checks each element (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 5 }), (tags) => {
        const expected = [
          ...(tags.length < 1 || tags.length > 3 ? ["tags"] : []),
          ...tags.flatMap((tag, i) => ([...tag].length > 4 ? [`tags[${i}]`] : [])),
        ];
        expect(violated({ tags })).toEqual(expected);
      }),
    );
  });

  it("checks printable ASCII keys exactly like API.md's /^[\\x20-\\x7e]{1,255}$/ (property)", () => {
    const apiRule = /^[\x20-\x7e]{1,255}$/;
    const nearTheEdge = fc.stringMatching(/^[\x20-\x7e]{250,260}$/);
    const keyField = Probe.fields.find((f) => f.name === "key");
    if (keyField === undefined) throw new Error("no key field");
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 20 }), nearTheEdge), (key) => {
        expect(violated({ key })).toEqual(apiRule.test(key) ? [] : ["key"]);
        expect(fieldViolation(keyField, key) === undefined).toBe(apiRule.test(key));
      }),
    );
  });

  it("states a pattern's meaning in its message", () => {
    const message = create(Probe, { ...valid, code: "eur" });
    expect(violationsOf(Probe, message)).toEqual([
      { field: "code", message: "must be a 3-letter code" },
    ]);
  });
});

describe("validatorOf", () => {
  it("throws InvalidArgument/VALIDATION_ERROR with every violation", () => {
    const validate = validatorOf(Probe);
    const message = create(Probe, { ...valid, count: 9, free: "\u0000" });
    let caught: unknown;
    try {
      validate(message);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PlexusError);
    expect(caught).toMatchObject({
      code: Code.InvalidArgument,
      reason: "VALIDATION_ERROR",
      details: [
        { field: "free", message: "must not contain NUL characters" },
        { field: "count", message: "must be an integer from -3 to 7" },
      ],
    });
  });

  it("refuses, when built, rules that do not fit their field", () => {
    const misfit = messageType("Misfit", [
      fieldOf("count", 1, Type.INT32, { string: { maxLen: 3 } }),
    ]);
    expect(() => validatorOf(misfit)).toThrow(/string rules on a non-string/);
  });
});
