// The depot's first clearing-line validation, kept as the second implementation the fast
// clearing path (src/ingest/clearing_line_check.ts) is held to: it runs firmware's own
// journalEntryNormalise on the line, builds the journal-shaped objects and stringifies. The
// rest of a batch (envelope, torn, pending, reconciled lines) is the one batch_validate.ts.

import {
  at,
  batchValidate,
  normalise,
  psnByte,
  wireCard,
  type IngestBatch,
  type IngestRecord,
  type LineBase,
  type Obj,
} from '../../src/ingest/batch_validate.js';
import { maskPan } from '../../../firmware/src/app/journal/journal_records.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { clearingIccCheck } from '../../src/ingest/clearing_icc_check.js';

/** batchValidate with the first clearing validation in place of the fast one. */
export function batchValidateReference(body: unknown, certTerminalId: string): IngestBatch {
  return batchValidate(body, certTerminalId, clearingValidate);
}

/** A clearing line's panMasked against its PAN, named at panMasked (as the fast path does). */
function panMaskedCheck(line: Obj, pan: string, path: string): void {
  if (line['panMasked'] !== maskPan(pan))
    throw new BatchError('bad-batch', at(path, 'panMasked'), 'does not match the PAN');
}

function clearingValidate(line: Obj, path: string, terminalId: string, base: LineBase):
  IngestRecord {
  const { pan, card } = wireCard({ pan: line['pan'], psn: psnByte(line, path),
    uidHex: line['uidHex'] }, path);
  const entry = normalise({
    kind: 'final',
    pendingSeq: line['pendingSeq'],
    clearing: { ...line, type: undefined, seq: undefined, timeWallMs: undefined,
      pendingSeq: undefined, panMasked: undefined, pan: undefined, psn: undefined,
      uidHex: undefined, card },
  }, path, (field) => field.replace(/^entry\.(clearing\.(card\.)?)?/, ''));
  if (entry.kind !== 'final') throw new BatchError('bad-batch', at(path, 'type'), 'not final');
  const clearing = entry.clearing;
  panMaskedCheck(line, pan, path);
  if (clearing.terminalId !== terminalId)
    throw new BatchError('terminal-mismatch', at(path, 'terminalId'),
      'not the certificate\'s terminal');
  if (entry.pendingSeq !== null && entry.pendingSeq >= base.seq)
    throw new BatchError('bad-batch', at(path, 'pendingSeq'), 'must precede the record');
  const iccDataHex = clearingIccCheck({ ...clearing, psn: clearing.card.psn }, pan,
    at(path, 'iccDataHex'));
  const { pan: _pan, ...rest } = line;
  return {
    ...base,
    routeId: clearing.lineId,
    pan,
    psn: String(line['psn']),
    atc: clearing.atc,
    amountMinor: clearing.amountMinor,
    currencyCode: clearing.currencyCode,
    fareRule: clearing.fareRule,
    cryptogramType: clearing.cryptogramType,
    iccDataHex,
    transactionDate: clearing.transactionDate,
    transactionTime: clearing.transactionTime,
    paramsVersion: clearing.paramsVersion,
    recordJson: JSON.stringify({ ...rest, iccDataHex }),
  };
}
