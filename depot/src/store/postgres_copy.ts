// COPY ... FROM STDIN, PostgreSQL's bulk-load protocol, for the ingest of a batch's taps:
// the server reads text rows in a tight loop, where a JSON parameter is lexed twice, by
// json_in and by json_to_recordset, a character at a time. The pg package has no COPY API of
// its own; pg-copy-streams is its standard adapter (a Submittable on the same connection).

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DepotValue } from './depot_db.js';

/** COPY's text format of one value: \N for null; backslash, tab, newline and CR escaped. */
function copyValue(value: DepotValue): string {
  if (value === null) return '\\N';
  const text = typeof value === 'number' ? String(value) : value;
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c] ?? c);
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r',
};

/**
 * `rows` as the data of a COPY ... FROM STDIN in text format (PostgreSQL docs, COPY, "File
 * Formats", "Text Format"): a line per row, a tab between values. Once backslash, tab,
 * newline and CR are escaped nothing else is special: a data line is never `\.` alone.
 */
export function copyText(rows: readonly (readonly DepotValue[])[]): string {
  let text = '';
  for (const row of rows) {
    let line = '';
    for (let c = 0; c < row.length; c += 1)
      line += (c === 0 ? '' : '\t') + copyValue(row[c] ?? null);
    text += `${line}\n`;
  }
  return text;
}

/**
 * Runs `copySql` (`COPY table (columns) FROM STDIN`) on `client` with `rows` as its data.
 * Resolves with the rows copied; rejects with the server's error (bad value, lost connection).
 */
export async function copyRows(client: Pick<pg.PoolClient, 'query'>, copySql: string,
  rows: readonly (readonly DepotValue[])[]): Promise<number> {
  const stream = client.query(copyFrom(copySql));
  await pipeline(Readable.from([copyText(rows)]), stream);
  return stream.rowCount;
}
