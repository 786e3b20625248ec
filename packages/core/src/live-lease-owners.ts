/** Open lease holders of this process per owner id (an id may be given to several). */
const open = new Map<string, number>();

/**
 * The lease owners alive in this process (saga orchestrators, outbox relays). On an exclusive
 * database (`Db.exclusive`) nobody outside this process can hold a lease, so a lease whose owner
 * is not among these was left by a dead process and may be taken at once, without waiting for it
 * to run out. Module state: one copy of this package per process.
 */
export const liveLeaseOwners = {
  /** Called once a lease holder exists: its leases are a live holder's from now on. */
  add(owner: string): void {
    open.set(owner, (open.get(owner) ?? 0) + 1);
  },
  /** Called once a lease holder closed: nothing of it runs any more. */
  delete(owner: string): void {
    const count = open.get(owner) ?? 0;
    if (count > 1) open.set(owner, count - 1);
    else open.delete(owner);
  },
  /** The owners alive in this process other than `owner` (whose own leases it knows itself). */
  besides(owner: string): string[] {
    return [...open.keys()].filter((other) => other !== owner);
  },
};
