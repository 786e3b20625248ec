export {
  createProjectionRunner,
  type ProjectionRunner,
  type ProjectionRunnerOptions,
  type ProjectionStatus,
} from "./projection-runner.ts";
export { ProjectionApplyError, type FailedEvent } from "./apply-error.ts";
export type { ProjectionFailure } from "./projection-stall.ts";
export {
  rebuildProjection,
  type RebuildProjectionOptions,
  type RebuildReport,
} from "./rebuild-projection.ts";
export { readCheckpoint, type Checkpoint } from "./checkpoint.ts";
export { eventLogAppendLock } from "./event-log-sql.ts";
export { ensureProjectionTables } from "./projection-tables.ts";
