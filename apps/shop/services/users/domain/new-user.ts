import { validationError, type FieldViolation } from "@plexus/core";

/** RFC 5321's practical limit on a forward path; longer addresses cannot be delivered. */
export const maxEmailLength = 254;
/** RFC 5321's limit on the local part. */
export const maxEmailLocalLength = 64;
export const maxNameLength = 200;
export const minPasswordLength = 8;
/** Bounds the work one request can make the password hasher do. */
export const maxPasswordLength = 1024;

/** What a client sends to register. Fields may be anything a decoder let through. */
export interface NewUserInput {
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

/** A registration that passed every rule: email and name trimmed, password untouched. */
export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

// ASCII only, on purpose: `lower(email)` then means the same thing on every database and
// collation, so case-insensitive uniqueness cannot differ between PGlite and Postgres.
const localPartPattern = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabelPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** A TLD starts with a letter (never all digits, which would make the host an IP address). */
const topLevelLabelPattern = /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const controlCharacterPattern = /[\u0000-\u001f\u007f-\u009f]/;

/** Length in code points, so an emoji counts as one character, as a person would count it. */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * Whether an (already trimmed) email address has reasonable syntax: `local@domain.tld`, a dot-atom
 * local part, a dotted hostname with a letter-led TLD, within the RFC 5321 lengths. Quoted local
 * parts, IP literals and internationalised addresses are refused: rare, and a source of confusion.
 */
export function isValidEmail(email: string): boolean {
  if (email.length === 0 || email.length > maxEmailLength) return false;
  const at = email.lastIndexOf("@");
  if (at <= 0) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > maxEmailLocalLength || !localPartPattern.test(local)) return false;
  const labels = domain.split(".");
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? "";
  return labels.every((label) => domainLabelPattern.test(label)) && topLevelLabelPattern.test(tld);
}

/** The field violations of a registration; empty when it is valid. */
export function newUserViolations(input: NewUserInput): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const email = input.email.trim();
  if (email.length === 0) {
    violations.push({ field: "email", message: "is required" });
  } else if (email.length > maxEmailLength) {
    violations.push({ field: "email", message: `must be at most ${maxEmailLength} characters` });
  } else if (!isValidEmail(email)) {
    violations.push({ field: "email", message: "must be a valid email address" });
  }
  const name = input.name.trim();
  if (name.length === 0) {
    violations.push({ field: "name", message: "must not be empty" });
  } else if (characterCount(name) > maxNameLength) {
    violations.push({ field: "name", message: `must be at most ${maxNameLength} characters` });
  } else if (controlCharacterPattern.test(name)) {
    violations.push({ field: "name", message: "must not contain control characters" });
  }
  const passwordLength = characterCount(input.password);
  if (passwordLength < minPasswordLength) {
    violations.push({
      field: "password",
      message: `must be at least ${minPasswordLength} characters`,
    });
  } else if (passwordLength > maxPasswordLength) {
    violations.push({
      field: "password",
      message: `must be at most ${maxPasswordLength} characters`,
    });
  }
  return violations;
}

/**
 * Checks a registration against every rule at once and returns it normalised (email and name
 * trimmed; the password is kept as typed: spaces in it are the user's choice).
 *
 * @throws PlexusError `InvalidArgument`/`VALIDATION_ERROR` listing every violated field.
 */
export function validateNewUser(input: NewUserInput): NewUser {
  const violations = newUserViolations(input);
  if (violations.length > 0) throw validationError(violations);
  return { email: input.email.trim(), name: input.name.trim(), password: input.password };
}
