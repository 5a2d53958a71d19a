// Group commit on SQLite: transactions that waited while another committed run together in one
// BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT. With synchronous=FULL every
// commit fsyncs the WAL; four upload lanes then pay one fsync (and write each shared page,
// like the newest card-key level's, once) per group instead of per batch. Durability is
// unchanged: a member's promise resolves only after the shared COMMIT returned, so an ack
// still follows the WAL fsync. A member whose work rejects is rolled back to its savepoint
// alone and rejects with its own error; the others commit.

import type { DepotDb } from './depot_db.js';
import { DepotStoreError } from './depot_db.js';

/** Most transactions in one group: bounds the wait of the first one. */
export const SQLITE_GROUP_MAX = 8;

/** One waiting transaction. */
export interface GroupMember {
  readonly work: (tx: DepotDb) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What the group needs of the connection. */
export interface GroupConnection {
  /** Runs one statement; throws DepotStoreError. */
  exec(sql: string): void;
  /** False when SQLite rolled the whole transaction back by itself (e.g. disk full). */
  inTransaction(): boolean;
  /** A handle for one member's work, unusable after `finish`. */
  handle(): { readonly tx: DepotDb; finish(): void };
}

type Outcome = { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/** Runs one member in savepoint `name`; throws only when the whole transaction is lost. */
async function memberRun(conn: GroupConnection, member: GroupMember, name: string):
  Promise<Outcome> {
  conn.exec(`SAVEPOINT ${name}`);
  const { tx, finish } = conn.handle();
  try {
    const value = await member.work(tx);
    finish();
    conn.exec(`RELEASE ${name}`);
    return { ok: true, value };
  } catch (error) {
    finish();
    if (!conn.inTransaction())
      throw new DepotStoreError('SQLite rolled back the whole group transaction', {
        cause: error });
    conn.exec(`ROLLBACK TO ${name}`);
    conn.exec(`RELEASE ${name}`);
    return { ok: false, error };
  }
}

/**
 * Runs `group` in one transaction and settles every member: resolved with its work's value
 * after the COMMIT, or rejected (its own error when its work failed; the transaction's error,
 * nothing stored, when BEGIN, a savepoint or the COMMIT failed).
 */
export async function sqliteGroupRun(conn: GroupConnection,
  group: readonly GroupMember[]): Promise<void> {
  const outcomes: Outcome[] = [];
  try {
    conn.exec('BEGIN IMMEDIATE');
    for (const [i, member] of group.entries())
      outcomes.push(await memberRun(conn, member, `group_member_${i}`));
    conn.exec('COMMIT');
  } catch (error) {
    if (conn.inTransaction()) {
      try {
        conn.exec('ROLLBACK');
      } catch {
        // The first error is the one to report; SQLite ends the transaction either way.
      }
    }
    for (const member of group) member.reject(error);
    return;
  }
  group.forEach((member, i) => {
    const outcome = outcomes[i];
    if (outcome?.ok === true) member.resolve(outcome.value);
    else member.reject(outcome?.error);
  });
}
