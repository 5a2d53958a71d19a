// POST /v1/status: terminal management (last contact, parameter version, refused set,
// backlog). Depot README, "POST /v1/status".

import { SEQ_MAX } from '../../../firmware/src/app/journal/journal_records.js';
import { TEXT_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';
import { JsonFields, FieldError } from '../../../firmware/src/app/params/json_fields.js';
import type { DepotDb } from '../store/depot_db.js';
import { BatchError } from './batch_error.js';
import { TERMINAL_ID_PATTERN } from './terminal_registry.js';
import { panScrub } from '../../../firmware/src/app/journal/pan_mask.js';

export interface TerminalReport {
  readonly terminalId: string;
  readonly paramsVersion: number | null;
  readonly paramsRefused: { readonly version: number; readonly reason: string } | null;
  readonly backlogRecords: number;
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  readonly softwareVersion: string;
}

/**
 * Validates a status body of the certificate's `certTerminalId`. Throws FieldError (400
 * bad-status) or BatchError terminal-mismatch (403).
 */
export function statusValidate(body: unknown, certTerminalId: string): TerminalReport {
  const fields = JsonFields.of(body, 'status', '');
  const terminalId = fields.str('terminalId', TERMINAL_ID_PATTERN, 64);
  if (terminalId !== certTerminalId)
    throw new BatchError('terminal-mismatch', 'terminalId', 'not the certificate\'s terminal');
  const refused = fields.raw('paramsRefused');
  let paramsRefused: TerminalReport['paramsRefused'] = null;
  if (refused !== null) {
    const r = fields.obj('paramsRefused');
    paramsRefused = {
      version: r.int('version', 0, SEQ_MAX),
      // Free text from a validator: stored and shown in reports, so never a PAN in clear.
      reason: panScrub(r.str('reason', TEXT_PATTERN, 256)),
    };
    r.finish();
  }
  const report: TerminalReport = {
    terminalId,
    paramsVersion: fields.intOrNull('paramsVersion', 0, SEQ_MAX),
    paramsRefused,
    backlogRecords: fields.int('backlogRecords', 0, Number.MAX_SAFE_INTEGER),
    lastSeq: fields.int('lastSeq', 0, SEQ_MAX),
    ackThroughSeq: fields.int('ackThroughSeq', 0, SEQ_MAX),
    softwareVersion: fields.str('softwareVersion', TEXT_PATTERN, 64),
  };
  fields.finish();
  if (report.ackThroughSeq > report.lastSeq)
    throw new FieldError('status', 'ackThroughSeq', 'exceeds lastSeq');
  return report;
}

/** Upserts the terminal's row of `terminal_status`. Rejects with DepotStoreError. */
export async function statusStore(db: DepotDb, report: TerminalReport, nowMs: number):
  Promise<void> {
  await db.run(`INSERT INTO terminal_status (terminal_id, last_contact_ms, params_version,
    params_refused_version, params_refused_reason, backlog_records, last_seq, ack_through_seq,
    software_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (terminal_id) DO UPDATE SET last_contact_ms = excluded.last_contact_ms,
    params_version = excluded.params_version,
    params_refused_version = excluded.params_refused_version,
    params_refused_reason = excluded.params_refused_reason,
    backlog_records = excluded.backlog_records, last_seq = excluded.last_seq,
    ack_through_seq = excluded.ack_through_seq, software_version = excluded.software_version`,
  [report.terminalId, nowMs, report.paramsVersion, report.paramsRefused?.version ?? null,
    report.paramsRefused?.reason ?? null, report.backlogRecords, report.lastSeq,
    report.ackThroughSeq, report.softwareVersion]);
}
