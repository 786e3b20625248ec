export { openStorage } from "./open-storage.ts";
export type { Storage, StorageOptions } from "./storage.ts";
export { isUniqueViolation } from "./unique-violation.ts";
