export {
  createProjectionRunner,
  type ProjectionRunner,
  type ProjectionRunnerOptions,
} from "./projection-runner.ts";
export {
  rebuildProjection,
  type RebuildProjectionOptions,
  type RebuildReport,
} from "./rebuild-projection.ts";
export { readCheckpoint, type Checkpoint } from "./checkpoint.ts";
export { eventLogAppendLock } from "./event-log-sql.ts";
export { ensureProjectionTables } from "./projection-tables.ts";
