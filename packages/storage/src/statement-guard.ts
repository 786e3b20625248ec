/** Leading whitespace and SQL comments, skipped before looking at a statement's first words. */
const leadingNoise = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * Statements that open or end a transaction. `ROLLBACK TO [SAVEPOINT]`, `SAVEPOINT` and `RELEASE`
 * stay allowed: they work inside a transaction without ending it.
 */
const transactionControl =
  /^(?:begin|start\s+transaction|commit|end|abort|rollback(?!\s+to\b)|prepare\s+transaction)\b/i;

/**
 * Refuses transaction control in `query()`: a BEGIN through a pooled connection (or PGlite's one
 * session shared by every service) would leave a transaction open under someone else's
 * statements, and a COMMIT inside `transaction(fn)` would end it early. `transaction(fn)` is the
 * one way to group statements.
 */
export function assertNotTransactionControl(text: string): void {
  const statement = text.replace(leadingNoise, "");
  if (transactionControl.test(statement)) {
    throw new Error(
      `storage: transaction control ("${statement.slice(0, 20)}…") is not allowed in query(); ` +
        `use transaction(fn), which begins, commits and rolls back`,
    );
  }
}
