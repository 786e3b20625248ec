/** The plan tier every user starts on; the gateway's per-tier limits read it from the token. */
export const defaultTier = "free";

/** A user as other parties may see it: never with a password or its hash. */
export interface User {
  /** A UUID. */
  readonly id: string;
  /** As the user typed it (trimmed); unique case-insensitively. */
  readonly email: string;
  readonly name: string;
  readonly tier: string;
  /** RFC 3339, UTC. */
  readonly createdAt: string;
}

/** A stored user with its password hash: only the credential check ever sees one. */
export interface UserWithCredentials extends User {
  readonly passwordHash: string;
}
