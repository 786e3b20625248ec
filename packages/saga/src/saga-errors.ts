import { Code, PlexusError, validationError } from "@plexus/core";

/*
 * The errors the orchestrator raises about one saga, each made in one place so a reason (what
 * the admin API and callers match on) is spelled once.
 */

const maxIdLength = 200;

/**
 * A saga id: 1 to 200 characters, no NUL (Postgres text cannot hold it). An operator's malformed
 * id (the admin API) is a validation error, never a storage error.
 */
export function checkSagaId(id: unknown): string {
  if (typeof id !== "string" || id.length === 0 || id.length > maxIdLength || id.includes("\0")) {
    throw validationError([
      { field: "id", message: `1 to ${maxIdLength} characters, without NUL` },
    ]);
  }
  return id;
}

export function sagaNotFound(id: string): PlexusError {
  return new PlexusError(Code.NotFound, `saga ${id} not found`, { reason: "SAGA_NOT_FOUND" });
}

/** The error a write gets when the saga was changed by someone else (lease lost, operator). */
export function conflictError(id: string): PlexusError {
  return new PlexusError(Code.Aborted, `saga ${id} was changed by another executor`, {
    reason: "SAGA_CONFLICT",
  });
}

export function isConflict(error: unknown): boolean {
  return error instanceof PlexusError && error.reason === "SAGA_CONFLICT";
}
