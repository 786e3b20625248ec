import { Code, PlexusError } from "@plexus/core";
import { expect } from "vitest";

/** The PlexusError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function errorOf(promise: Promise<unknown>): Promise<PlexusError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    return error as PlexusError;
  }
  throw new Error("expected the call to fail");
}

/**
 * The fields a synchronous validation names in its `VALIDATION_ERROR`, in order; `[]` when it
 * passes. Fails the test when it throws anything else.
 */
export function violatedFields(validate: () => unknown): string[] {
  try {
    validate();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(PlexusError);
    expect((error as PlexusError).code).toBe(Code.InvalidArgument);
    expect((error as PlexusError).reason).toBe("VALIDATION_ERROR");
    return (error as PlexusError).details.map((d) => d.field);
  }
}
