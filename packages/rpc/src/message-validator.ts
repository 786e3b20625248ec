import {
  getOption,
  hasOption,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
} from "@bufbuild/protobuf";
import { validationError, type FieldViolation } from "@plexus/core";
import {
  field as fieldRulesOption,
  type FieldRules,
  type IntRules,
  type StringRules,
} from "./gen/plexus/validate/v1/validate_pb.js";
import { stringFormatChecks } from "./string-formats.ts";

/** Violations listed in one error, at most: a hostile request cannot make a huge error body. */
const maxViolations = 100;

/** Checks one value at `path`, appending what is wrong with it to `out`. */
type ValueCheck = (value: unknown, path: string, out: FieldViolation[]) => void;
/** Checks one value and says what is wrong with it, or `undefined`. */
type ScalarCheck = (value: unknown) => string | undefined;

const int64Types = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);
const int32Types = new Set([
  ScalarType.INT32,
  ScalarType.UINT32,
  ScalarType.SINT32,
  ScalarType.FIXED32,
  ScalarType.SFIXED32,
]);

/** Length in code points, so an emoji counts as one character, as a person would count it. */
function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * The rule every string obeys, annotated or not: valid Unicode (a lone surrogate cannot be
 * encoded as UTF-8, which storage requires) and no NUL (which Postgres text refuses).
 */
function defaultStringViolation(value: string): string | undefined {
  if (!value.isWellFormed()) return "must be valid Unicode (no lone surrogates)";
  if (value.includes("\0")) return "must not contain NUL characters";
  return undefined;
}

function lengthMessage(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be ${min} to ${max} characters`;
  if (min === 1) return "must not be empty";
  return min !== undefined
    ? `must be at least ${min} characters`
    : `must be at most ${max} characters`;
}

function compileString(rules: StringRules | undefined, where: string): ScalarCheck {
  const { minLen: min, maxLen: max } = rules ?? {};
  const formats = (rules?.formats ?? []).map((format) => {
    const check = stringFormatChecks.get(format);
    if (check === undefined) throw new TypeError(`${where}: unknown string format ${format}`);
    return check;
  });
  const pattern = rules?.pattern === undefined ? undefined : new RegExp(rules.pattern, "u");
  const patternMessage = `must be ${rules?.patternDescription ?? `matching ${rules?.pattern}`}`;
  const bounded = min !== undefined || max !== undefined;
  return function checkString(value) {
    if (typeof value !== "string") return "must be a string";
    const base = defaultStringViolation(value);
    if (base !== undefined) return base;
    if (bounded) {
      const count = characterCount(value);
      if ((min !== undefined && count < min) || (max !== undefined && count > max)) {
        return lengthMessage(min, max);
      }
    }
    for (const format of formats) if (!format.test(value)) return format.message;
    if (pattern !== undefined && !pattern.test(value)) return patternMessage;
    return undefined;
  };
}

function compileInt(rules: IntRules, scalar: ScalarType): ScalarCheck {
  const { gte, lte } = rules;
  const message =
    gte !== undefined && lte !== undefined
      ? `must be an integer from ${gte} to ${lte}`
      : gte !== undefined
        ? `must be an integer of at least ${gte}`
        : `must be an integer of at most ${lte}`;
  const wide = int64Types.has(scalar);
  return function checkInt(value) {
    // In-process callers hand over plain objects: a 32-bit field may hold 1.5 or NaN.
    let n: bigint;
    if (typeof value === "bigint") n = value;
    else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
    else if (wide && typeof value === "string" && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
    else return message;
    return (gte !== undefined && n < gte) || (lte !== undefined && n > lte) ? message : undefined;
  };
}

/** The check of one singular value of a field's element kind (`undefined`: nothing to check). */
function compileElement(
  rules: FieldRules | undefined,
  scalar: ScalarType | undefined,
  message: DescMessage | undefined,
  where: string,
): ValueCheck | undefined {
  if (rules?.repeated !== undefined) throw new TypeError(`${where}: repeated rules on one value`);
  if (scalar === ScalarType.STRING) {
    if (rules?.int !== undefined) throw new TypeError(`${where}: int rules on a string`);
    const check = compileString(rules?.string, where);
    return (value, path, out) => {
      const violation = check(value);
      if (violation !== undefined) out.push({ field: path, message: violation });
    };
  }
  if (rules?.string !== undefined) throw new TypeError(`${where}: string rules on a non-string`);
  if (rules?.int !== undefined) {
    if (scalar === undefined || !(int64Types.has(scalar) || int32Types.has(scalar))) {
      throw new TypeError(`${where}: int rules on a non-integer`);
    }
    const check = compileInt(rules.int, scalar);
    return (value, path, out) => {
      const violation = check(value);
      if (violation !== undefined) out.push({ field: path, message: violation });
    };
  }
  if (message !== undefined) {
    const check = compileMessage(message);
    if (check === undefined) return undefined;
    return (value, path, out) => {
      if (value !== undefined && value !== null) check(value as Message, `${path}.`, out);
    };
  }
  return undefined;
}

function sizeMessage(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must hold ${min} to ${max} items`;
  if (min === 1) return "must not be empty";
  return min !== undefined ? `must hold at least ${min} items` : `must hold at most ${max} items`;
}

/**
 * The validate.proto rules of a field, or `undefined`: for a limit that must be known as a number
 * outside a message (a guard before expensive work), read from the contract instead of retyped.
 *
 * @example
 * const maxPasswordLength = fieldRulesOf(CreateUserRequestSchema.field.password)?.string?.maxLen;
 */
export function fieldRulesOf(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldRulesOption) ? getOption(field, fieldRulesOption) : undefined;
}

function compileField(field: DescField): ValueCheck | undefined {
  const where = `${field.parent.typeName}.${field.name}`;
  const rules = fieldRulesOf(field);
  switch (field.fieldKind) {
    case "scalar":
      return compileElement(rules, field.scalar, undefined, where);
    case "enum":
      return compileElement(rules, undefined, undefined, where);
    case "message":
      return compileElement(rules, undefined, field.message, where);
    case "list": {
      if (rules?.string !== undefined || rules?.int !== undefined) {
        throw new TypeError(`${where}: element rules belong under repeated.items`);
      }
      const { minItems: min, maxItems: max, items } = rules?.repeated ?? {};
      const element = compileElement(items, field.scalar, field.message, where);
      if (element === undefined && min === undefined && max === undefined) return undefined;
      const sized = min !== undefined || max !== undefined;
      return (value, path, out) => {
        const list = (value ?? []) as readonly unknown[];
        if (
          sized &&
          ((min !== undefined && list.length < min) || (max !== undefined && list.length > max))
        ) {
          out.push({ field: path, message: sizeMessage(min, max) });
        }
        if (element === undefined) return;
        for (let i = 0; i < list.length && out.length < maxViolations; i++) {
          element(list[i], `${path}[${i}]`, out);
        }
      };
    }
    case "map": {
      if (rules !== undefined) throw new TypeError(`${where}: rules on a map are not supported`);
      const key = compileElement(undefined, field.mapKey, undefined, where);
      const element = compileElement(undefined, field.scalar, field.message, where);
      if (key === undefined && element === undefined) return undefined;
      return (value, path, out) => {
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
          if (out.length >= maxViolations) return;
          const at = `${path}[${JSON.stringify(k)}]`;
          key?.(k, at, out);
          element?.(v, at, out);
        }
      };
    }
  }
}

/** Checks a message whose field paths start with `prefix` ("" or "items[0]."). */
type MessageCheck = (message: Message, prefix: string, out: FieldViolation[]) => void;

const compiled = new WeakMap<DescMessage, MessageCheck | undefined>();
const fieldChecks = new WeakMap<DescField, ValueCheck | undefined>();

function read(field: DescField): (message: Message) => unknown {
  const oneof = field.oneof;
  if (oneof === undefined)
    return (message) => (message as Record<string, unknown>)[field.localName];
  return (message) => {
    const chosen = (message as Record<string, { case?: string; value?: unknown } | undefined>)[
      oneof.localName
    ];
    return chosen?.case === field.localName ? chosen.value : undefined;
  };
}

/** Compiles a message type's checks once; `undefined` when it has nothing to check. */
function compileMessage(schema: DescMessage): MessageCheck | undefined {
  if (compiled.has(schema)) return compiled.get(schema);
  // A recursive type refers to itself: the entry exists (and forwards) before its fields compile.
  const slot: { check?: MessageCheck | undefined } = {};
  compiled.set(schema, (message, prefix, out) => slot.check?.(message, prefix, out));
  const checks = schema.fields.flatMap((field) => {
    const check = compileField(field);
    return check === undefined ? [] : [{ check, get: read(field), name: field.jsonName }];
  });
  slot.check =
    checks.length === 0
      ? undefined
      : function checkMessage(message, prefix, out) {
          for (const { check, get, name } of checks) {
            if (out.length >= maxViolations) return;
            check(get(message), prefix + name, out);
          }
        };
  compiled.set(schema, slot.check);
  return slot.check;
}

/**
 * What is wrong with a message by its contract's rules (validate.proto) and the rule every string
 * obeys (valid Unicode, no NUL), with field paths in JSON names (`items[0].quantity`). Each
 * message type's rules are read from its descriptor once and compiled; later calls only run the
 * compiled checks.
 *
 * @throws TypeError when the contract's rules do not fit their fields (string rules on an
 *   integer, ...): a contract bug, found the first time the type is validated.
 * @example
 * const violations = violationsOf(PlaceOrderRequestSchema, request); // [] when valid
 */
export function violationsOf(schema: DescMessage, message: Message): FieldViolation[] {
  const out: FieldViolation[] = [];
  compileMessage(schema)?.(message, "", out);
  return out;
}

/**
 * The validator of one message type, compiled now (a contract whose rules do not fit their fields
 * fails here, at start-up): what an RPC server runs on every request before its handler.
 *
 * @throws TypeError when the contract's rules do not fit their fields.
 * @example
 * const validate = validatorOf(method.input);
 * validate(request.message); // throws InvalidArgument/VALIDATION_ERROR with field details
 */
export function validatorOf(schema: DescMessage): (message: Message) => void {
  const check = compileMessage(schema);
  return function validate(message) {
    if (check === undefined) return;
    const violations: FieldViolation[] = [];
    check(message, "", violations);
    if (violations.length > 0) throw validationError(violations);
  };
}

/**
 * What is wrong with a value by the rules of one field of a contract, or `undefined`: for a value
 * that travels outside a message (a header) under a field's rules, so they are stated once.
 *
 * @example
 * const problem = fieldViolation(PlaceOrderRequestSchema.field.idempotencyKey, header);
 */
export function fieldViolation(field: DescField, value: unknown): string | undefined {
  if (!fieldChecks.has(field)) fieldChecks.set(field, compileField(field));
  const check = fieldChecks.get(field);
  const out: FieldViolation[] = [];
  check?.(value, field.jsonName, out);
  return out[0]?.message;
}
