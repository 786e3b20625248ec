import { validationError } from "@plexus/core";

/** Position after the last saga of a page: its creation time and id (the list's sort key). */
export interface ListPosition {
  readonly createdAt: Date;
  readonly id: string;
}

/** An opaque, URL-safe cursor for the page after `position`. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString(
    "base64url",
  );
}

/** Parses a cursor made by {@link encodeCursor}; anything else is a validation error. */
export function decodeCursor(cursor: string): ListPosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      const createdAt = typeof at === "string" ? new Date(at) : undefined;
      if (createdAt && !Number.isNaN(createdAt.getTime()) && typeof id === "string") {
        return { createdAt, id };
      }
    }
  } catch {
    // fall through to the validation error
  }
  throw validationError([{ field: "cursor", message: "not a cursor returned by list" }]);
}
