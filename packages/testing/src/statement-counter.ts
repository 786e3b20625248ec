import type { Db, Migration, Sql, SqlResult } from "@plexus/core";

/** Statements and transactions one service ran. */
export interface StatementCount {
  /** Every statement, inside a transaction or not. */
  statements: number;
  /** Committed or not: each `transaction()` and each statement run outside one. */
  transactions: number;
}

/** What the counter needs of a storage: the port that hands out services' `Db`s. */
export interface DbSource {
  forService(name: string, migrations: readonly Migration[]): Promise<Db>;
}

/** Counts the statements and transactions of every service's `Db` handed out by a storage. */
export interface StatementCounter {
  /** The storage, with every `Db` it hands out counted (the rest passes through). */
  wrap<S extends DbSource>(storage: S): S;
  /** Counts per service (schema) since the last reset. */
  counts(): ReadonlyMap<string, StatementCount>;
  /** Sum over every service. */
  total(): StatementCount;
  reset(): void;
}

/**
 * Counts statements per service at the storage port, so a test can pin how many statements a
 * piece of work costs (e.g. one order through the saga) and keep that number from creeping up.
 */
export function createStatementCounter(): StatementCounter {
  const byService = new Map<string, StatementCount>();
  const countOf = (name: string): StatementCount => {
    let count = byService.get(name);
    if (!count) {
      count = { statements: 0, transactions: 0 };
      byService.set(name, count);
    }
    return count;
  };
  const counted = (name: string, db: Db): Db => {
    const countedSql = (sql: Sql): Sql => ({
      query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
        countOf(name).statements++;
        return sql.query<R>(text, params);
      },
      // Not a statement: it rides on the commit (see `Sql.notify`).
      notify: (channel, options) => sql.notify(channel, options),
    });
    return {
      schema: db.schema,
      get exclusive() {
        return db.exclusive;
      },
      query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
        const count = countOf(name);
        count.statements++;
        count.transactions++;
        return db.query<R>(text, params);
      },
      transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
        countOf(name).transactions++;
        return db.transaction((tx) => fn(countedSql(tx)));
      },
      notify: (channel, options) => db.notify(channel, options),
      listen: (channel, wake) => db.listen(channel, wake),
    };
  };
  return {
    wrap<S extends DbSource>(storage: S): S {
      return new Proxy(storage, {
        get(target, property) {
          if (property === "forService") {
            return async (name: string, migrations: readonly Migration[]) =>
              counted(name, await target.forService(name, migrations));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? (value as () => unknown).bind(target) : value;
        },
      });
    },
    counts: () => byService,
    total() {
      const sum: StatementCount = { statements: 0, transactions: 0 };
      for (const count of byService.values()) {
        sum.statements += count.statements;
        sum.transactions += count.transactions;
      }
      return sum;
    },
    reset: () => byService.clear(),
  };
}
