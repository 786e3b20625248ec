import type { Migration } from "@plexus/core";

/** A migration already applied to a schema, as recorded in its `plexus_migrations` table. */
export interface AppliedMigration {
  readonly id: number;
  readonly name: string;
  readonly checksum: string;
}

/**
 * Checks a service's migration list: ids are non-negative safe integers in strictly ascending
 * order (so the order in the source is the order of application), names are non-empty.
 */
export function validateMigrations(service: string, migrations: readonly Migration[]): void {
  let previous: number | undefined;
  for (const m of migrations) {
    if (!Number.isSafeInteger(m.id) || m.id < 0) {
      throw new TypeError(
        `service "${service}": migration id ${String(m.id)} must be a non-negative integer`,
      );
    }
    if (typeof m.name !== "string" || m.name.trim() === "") {
      throw new TypeError(`service "${service}": migration ${m.id} has no name`);
    }
    if (typeof m.sql !== "string") {
      throw new TypeError(`service "${service}": migration ${m.id} (${m.name}) has no sql`);
    }
    if (previous !== undefined && m.id <= previous) {
      throw new TypeError(
        `service "${service}": migration ids must be strictly ascending, but ${m.id} ` +
          `(${m.name}) follows ${previous}`,
      );
    }
    previous = m.id;
  }
}

/**
 * The migrations still to apply, in order. Refuses (forward-only) when an applied migration has
 * left the list or been renamed, and when a pending one would slot in below the newest applied
 * one: that is a merge that reordered history, and applying it late would give two databases
 * two different histories.
 */
export function pendingMigrations(
  service: string,
  migrations: readonly Migration[],
  applied: readonly AppliedMigration[],
): Migration[] {
  validateMigrations(service, migrations);
  const byId = new Map(migrations.map((m) => [m.id, m]));
  let newestApplied = -1;
  for (const a of applied) {
    const current = byId.get(a.id);
    if (!current) {
      throw new Error(
        `service "${service}": migration ${a.id} (${a.name}) was applied to the database but is ` +
          `no longer in the list; migrations are forward-only: never remove or renumber one, add ` +
          `a new migration instead`,
      );
    }
    if (current.name !== a.name) {
      throw new Error(
        `service "${service}": migration ${a.id} was applied as "${a.name}" but is now named ` +
          `"${current.name}"; applied migrations must not be changed`,
      );
    }
    newestApplied = Math.max(newestApplied, a.id);
  }
  const appliedIds = new Set(applied.map((a) => a.id));
  const pending = migrations.filter((m) => !appliedIds.has(m.id));
  const late = pending.find((m) => m.id < newestApplied);
  if (late) {
    throw new Error(
      `service "${service}": migration ${late.id} (${late.name}) is not applied but ${newestApplied} ` +
        `already is; give it an id above ${newestApplied}`,
    );
  }
  return pending;
}
