import { PlexusError } from "@plexus/core";
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
