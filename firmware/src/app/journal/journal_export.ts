// Upload queue view of a journal: unacknowledged clearing and uncertain records as JSON lines.

import type { JournalRecord } from './journal_records.js';
import type { JournalScan } from './journal_scan.js';
import { panVaultClear, type PanVault } from './pan_vault.js';

/** Lines for the back office, plus the seq an ack of this export may name. */
export interface JournalExport {
  /** One JSON object per line, oldest first; ICC data is BER-TLV hex (ISO 8583 field 55). */
  readonly lines: string[];
  /** Last seq the export covers (0 for an empty journal). */
  readonly throughSeq: number;
  readonly clearingCount: number;
  readonly uncertainCount: number;
}

/**
 * Builds the export from a scan that collected records: every final (`clearing`), torn
 * (`torn`) and reconciled (`reconciled`) record after the last ack, and every pending still
 * open (`pending_open`: a power cut during the tap, the debit is uncertain). Full PAN and PSN
 * are included for clearing, opened with the terminal data key `vault` (the journal holds
 * them sealed); `panMasked` is the form for logs. Throws PanVaultError when a sealed PAN does
 * not open (another key, changed bytes).
 */
export function journalExport(scan: JournalScan, vault: PanVault): JournalExport {
  const ackThroughSeq = scan.state.ackThroughSeq;
  const openSeqs = new Set(scan.state.uncertainAll().map((tap) => tap.seq));
  const lines: string[] = [];
  let clearingCount = 0;
  let uncertainCount = 0;
  for (const record of scan.records) {
    if (record.seq <= ackThroughSeq) continue;
    const line = exportLine(record, openSeqs.has(record.seq), vault);
    if (line === null) continue;
    if (line.type === 'clearing') clearingCount += 1;
    if (line.type === 'pending_open' || (line.type === 'torn' && line['stillUncertain'] === true)) {
      uncertainCount += 1;
    }
    lines.push(JSON.stringify(line));
  }
  return { lines, throughSeq: scan.state.lastSeq, clearingCount, uncertainCount };
}

type ExportObject = { readonly type: string } & Readonly<Record<string, unknown>>;

function exportLine(record: JournalRecord, open: boolean, vault: PanVault): ExportObject | null {
  const head = { seq: record.seq, timeWallMs: record.timeWallMs };
  const entry = record.entry;
  switch (entry.kind) {
    case 'final': {
      const clearing = entry.clearing;
      const { card, ...rest } = clearing;
      return {
        type: 'clearing',
        ...head,
        pendingSeq: entry.pendingSeq,
        pan: panVaultClear(vault, card, record.seq),
        psn: psnText(card.psn),
        panMasked: card.panMasked,
        uidHex: card.uidHex,
        ...rest,
      };
    }
    case 'torn':
      return {
        type: 'torn',
        ...head,
        pendingSeq: entry.pendingSeq,
        uncertain: entry.uncertain,
        stillUncertain: open,
        reason: entry.reason,
        pan: panVaultClear(vault, entry.recovery.card, record.seq),
        panMasked: entry.recovery.card.panMasked,
        psn: psnText(entry.recovery.card.psn),
        recovery: entry.recovery,
      };
    case 'reconciled':
      return {
        type: 'reconciled',
        ...head,
        targetSeq: entry.targetSeq,
        outcome: entry.outcome,
        finalSeq: entry.finalSeq,
        note: entry.note,
      };
    case 'pending':
      if (!open) return null;
      return {
        type: 'pending_open',
        ...head,
        pan: panVaultClear(vault, entry.recovery.card, record.seq),
        panMasked: entry.recovery.card.panMasked,
        psn: psnText(entry.recovery.card.psn),
        fareRule: entry.fareRule,
        amountMinor: entry.amountMinor,
        recovery: entry.recovery,
      };
    case 'declined':
    case 'ack':
      return null;
    default: {
      const unreachable: never = entry;
      throw new Error(`unknown entry ${String(unreachable)}`);
    }
  }
}

/** 5F34 is n2: its byte printed as two hex digits reads as the decimal PSN ("01"). */
function psnText(psn: number): string {
  return psn.toString(16).toUpperCase().padStart(2, '0');
}
