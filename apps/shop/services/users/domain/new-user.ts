import { fieldRulesOf } from "@plexus/rpc";
import { CreateUserRequestSchema } from "../../../gen/shop/users/v1/users_pb.js";

const passwordMaxLen = fieldRulesOf(CreateUserRequestSchema.field.password)?.string?.maxLen;
if (passwordMaxLen === undefined) throw new TypeError("users.proto must bound the password");

/**
 * The longest password registration accepts (users.proto): a login with a longer one is refused
 * before the hasher runs, which bounds the work one request can make it do.
 */
export const maxPasswordLength: number = passwordMaxLen;

/** What a client sends to register, having met users.proto's rules at the RPC boundary. */
export interface NewUserInput {
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

/** A registration as stored: email and name trimmed, password untouched. */
export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

/** Length in code points, so an emoji counts as one character, as a person would count it. */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * Normalises a registration: email and name trimmed (a form's stray spaces are not part of
 * them); the password is kept as typed: spaces in it are the user's choice. The rules (a valid
 * email, a name that is not blank, 8 to 1024 password characters) are users.proto's, checked at
 * the RPC boundary.
 */
export function normalizeNewUser(input: NewUserInput): NewUser {
  return { email: input.email.trim(), name: input.name.trim(), password: input.password };
}
