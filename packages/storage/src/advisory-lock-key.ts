/** First half of every Plexus advisory lock key ("PLXS"), so they never collide with others'. */
export const advisoryLockClass = 0x504c5853;

/** Second half for the database-wide setup lock (roles, schemas, grants). */
export const setupLockKey = 0;

/** Second half for migrating one schema: a 32-bit FNV-1a hash of its name, as a signed int4. */
export function migrationLockKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(schema)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  // 0 is the setup lock; a schema hashing to it shares that lock, which is only slower.
  return hash | 0;
}
