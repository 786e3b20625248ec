import { validationError, type FieldViolation } from "@plexus/core";
import type { z } from "zod";

/**
 * Renders a value path the way API.md's `details[].field` shows it: `items[0].quantity`.
 * Identifier-like keys are joined with dots, indices in brackets, any other key as a quoted
 * bracket (`meta["odd key"]`). The document root is `$`, so a field is never an empty string.
 */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) {
      out += out === "" ? key : `.${key}`;
    } else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === "" ? "$" : out;
}

/** Zod issues as API.md field violations; an unknown key of a `.strict()` object names the key. */
export function violationsOf(issues: readonly z.core.$ZodIssue[]): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ field: formatFieldPath([...issue.path, key]), message: "unknown field" });
      }
    } else {
      out.push({ field: formatFieldPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/**
 * Validates `value` (usually a request body) with a zod schema and returns the parsed output;
 * on failure throws core's `validationError` (422 `VALIDATION_ERROR`) with one detail per problem.
 *
 * @example
 * const Order = z.object({ items: z.array(z.object({ productId: z.string(), quantity: z.int().min(1) })) }).strict();
 * const order = parseWith(Order, req.body); // 422 with field "items[0].quantity" on a bad quantity
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationError(violationsOf(result.error.issues));
}
