import { StringFormat } from "./gen/plexus/validate/v1/validate_pb.js";

/** RFC 5321's practical limit on a forward path; longer addresses cannot be delivered. */
const maxEmailLength = 254;
/** RFC 5321's limit on the local part. */
const maxEmailLocalLength = 64;

// ASCII only, on purpose: `lower(email)` then means the same thing on every database and
// collation, so case-insensitive uniqueness cannot differ between PGlite and Postgres.
const localPartPattern = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabelPattern = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** A TLD starts with a letter (never all digits, which would make the host an IP address). */
const topLevelLabelPattern = /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;
const printableAsciiPattern = /^[\x20-\x7e]*$/;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const controlCharacterPattern = /[\u0000-\u001f\u007f-\u009f]/;
const nonBlankPattern = /\S/u;

/**
 * Whether an email address has reasonable syntax: `local@domain.tld`, a dot-atom local part, a
 * dotted hostname with a letter-led TLD, within the RFC 5321 lengths. Quoted local parts, IP
 * literals and internationalised addresses are refused: rare, and a source of confusion.
 */
function isEmail(email: string): boolean {
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

/** A named format's check and what a value failing it is told. */
export interface StringFormatCheck {
  readonly test: (value: string) => boolean;
  readonly message: string;
}

/**
 * The checks of validate.proto's named string formats: the one implementation of each (the
 * gateway, the services and the payment provider simulator all get them from here, through the
 * contract's rules).
 */
export const stringFormatChecks: ReadonlyMap<StringFormat, StringFormatCheck> = new Map([
  [
    StringFormat.PRINTABLE_ASCII,
    {
      test: (value: string) => printableAsciiPattern.test(value),
      message: "must be printable ASCII characters",
    },
  ],
  [
    StringFormat.EMAIL,
    // A form's stray surrounding space is not part of the address: services trim it.
    { test: (value: string) => isEmail(value.trim()), message: "must be a valid email address" },
  ],
  [
    StringFormat.NO_CONTROL_CHARACTERS,
    {
      // Surrounding white space (a tab, a newline) is not part of the text: services trim it.
      test: (value: string) => !controlCharacterPattern.test(value.trim()),
      message: "must not contain control characters",
    },
  ],
  [
    StringFormat.NOT_BLANK,
    { test: (value: string) => nonBlankPattern.test(value), message: "must not be blank" },
  ],
]);
