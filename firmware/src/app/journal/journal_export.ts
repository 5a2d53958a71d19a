// Upload queue view of a journal: unacknowledged clearing and uncertain records as JSON lines.

import { FactSlot, type PayloadFacts } from './journal_payload_fast.js';
import { journalPayloadDecode } from './journal_records.js';
import type { JournalKind, JournalRecord, RecoveryContext } from './journal_records.js';
import type { JournalScan } from './journal_scan.js';
import type { JournalState } from './journal_state.js';
import { tunionExportObject } from './journal_tunion.js';
import { PanVaultError, panVaultClear, type PanVault } from './pan_vault.js';

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
  const context = journalExportContext(scan.state, vault);
  const lines: string[] = [];
  let clearingCount = 0;
  let uncertainCount = 0;
  for (const record of scan.records) {
    const line = journalExportLine(record, context);
    if (line === null) continue;
    if (line.clearing) clearingCount += 1;
    if (line.uncertain) uncertainCount += 1;
    lines.push(line.text);
  }
  return { lines, throughSeq: scan.state.lastSeq, clearingCount, uncertainCount };
}

/**
 * What decides a record's export line: the ack, the taps still uncertain at the end, and the
 * terminal data key that opens the sealed PANs.
 */
export interface JournalExportContext {
  readonly ackThroughSeq: number;
  readonly openSeqs: ReadonlySet<number>;
  readonly vault: PanVault;
}

/** The context of the journal whose final state is `state` (a first, verifying pass). */
export function journalExportContext(state: JournalState, vault: PanVault): JournalExportContext {
  const openSeqs = new Set(state.uncertainSeqs());
  return { ackThroughSeq: state.ackThroughSeq, openSeqs, vault };
}

/**
 * One record's export line (streamed by `shuaka journal export`), or null when the record is
 * acknowledged or not exported (declined, ack, a closed pending). Throws PanVaultError when
 * its sealed PAN does not open under the context's key.
 */
export function journalExportLine(
  record: JournalRecord,
  context: JournalExportContext,
): { text: string; clearing: boolean; uncertain: boolean } | null {
  if (record.seq <= context.ackThroughSeq) return null;
  const line = exportLine(record, context.openSeqs.has(record.seq), context.vault);
  if (line === null) return null;
  const uncertain = line.type === 'pending_open'
    || (line.type === 'torn' && line['stillUncertain'] === true);
  const clearing = line.type === 'clearing' || line.type === 'tunion_clearing';
  return { text: JSON.stringify(line), clearing, uncertain };
}

/** An export line: its text, and whether it is a clearing or an uncertain tap. */
export type JournalExportLine = ReturnType<typeof journalExportLine>;

/**
 * The export line of the record whose payload the scan handed over (JournalReadOptions
 * onPayload), byte for byte the line journalExportLine makes of the decoded record. A final
 * in the canonical form (`facts` not null) is written from its payload bytes without decoding
 * it: its clearing fields are already the JSON the line needs, in the same order. Other
 * records (rare: torn, reconciled, still open) are decoded. Throws PanVaultError as
 * journalExportLine does.
 */
export function journalExportPayloadLine(
  seq: number,
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts | null,
  context: JournalExportContext,
): JournalExportLine {
  if (seq <= context.ackThroughSeq) return null;
  if (kind === 'declined' || kind === 'ack') return null;
  if (kind === 'pending' && !context.openSeqs.has(seq)) return null;
  if (kind === 'tunion_final' && facts !== null) {
    return tunionClearingPayloadLine(seq, payload, facts);
  }
  if (kind === 'tunion_grey' && facts !== null) return tunionGreyPayloadLine(seq, payload, facts);
  if (kind !== 'final' || facts === null) {
    // The scan found the payload valid: this decode does not throw.
    return journalExportLine({ seq, ...journalPayloadDecode(kind, payload, 'journal') }, context);
  }
  const card = {
    panToken: facts.text(FactSlot.PAN_TOKEN),
    panSealed: facts.text(FactSlot.PAN_SEALED),
  };
  const pan = panVaultClear(context.vault, card, seq);
  const pendingSeq = facts.intOrNull(FactSlot.PENDING_SEQ);
  const rest = Buffer.from(
    payload.buffer,
    payload.byteOffset + (facts.start[FactSlot.CLEARING_REST_FROM] ?? 0),
    (facts.end[FactSlot.CLEARING_REST_TO] ?? 0) - (facts.start[FactSlot.CLEARING_REST_FROM] ?? 0),
  ).toString('latin1');
  // The fields of exportLine's clearing object, in its order; strings of the canonical form
  // hold no character JSON escapes.
  const text = `{"type":"clearing","seq":${seq}`
    + `,"timeWallMs":${facts.num[FactSlot.TIME_WALL_MS] ?? 0}`
    + `,"pendingSeq":${pendingSeq === null ? 'null' : pendingSeq},"pan":"${pan}"`
    + `,"psn":"${psnText(facts.num[FactSlot.PSN] ?? 0)}"`
    + `,"panMasked":"${facts.text(FactSlot.PAN_MASKED)}","uidHex":"${facts.text(FactSlot.UID_HEX)}"`
    + `,${rest}}`;
  return { text, clearing: true, uncertain: false };
}

/**
 * The line of a canonical T-Union final, from its payload: tunionExportObject's clearing object
 * is the type, seq and time, then the entry's fields after its kind in the entry's order
 * (mac2Verified, a boolean in the canonical form, last), which is how the payload spells them
 * from greySeq to its end.
 */
function tunionClearingPayloadLine(
  seq: number,
  payload: Uint8Array,
  facts: PayloadFacts,
): JournalExportLine {
  const from = facts.start[FactSlot.TUNION_FINAL_REST_FROM] ?? 0;
  const rest = Buffer.from(payload.buffer, payload.byteOffset + from, payload.length - from)
    .toString('latin1');
  const text = `{"type":"tunion_clearing","seq":${seq}`
    + `,"timeWallMs":${facts.num[FactSlot.TIME_WALL_MS] ?? 0},${rest}`;
  return { text, clearing: true, uncertain: false };
}

/**
 * The line of a canonical T-Union grey, from its payload: tunionExportObject's grey object is
 * the type, seq and time, then the card, purchase and ride, as the payload spells them (its
 * kernel record, which follows them, stays on the validator).
 */
function tunionGreyPayloadLine(
  seq: number,
  payload: Uint8Array,
  facts: PayloadFacts,
): JournalExportLine {
  const from = facts.start[FactSlot.TUNION_GREY_REST_FROM] ?? 0;
  // The comma before the kernel record's key is not the line's.
  const to = (facts.start[FactSlot.TUNION_GREY_REST_TO] ?? 0) - 1;
  const rest = Buffer.from(payload.buffer, payload.byteOffset + from, to - from)
    .toString('latin1');
  const text = `{"type":"tunion_grey","seq":${seq}`
    + `,"timeWallMs":${facts.num[FactSlot.TIME_WALL_MS] ?? 0},${rest}}`;
  return { text, clearing: false, uncertain: false };
}

/**
 * The recovery context as the depot contract carries it (depot/README.md): the card as
 * {psn, uidHex}; the clear PAN is the line's `pan` alone, token and seal stay on the validator.
 */
function recoveryOnWire(recovery: RecoveryContext): object {
  return { ...recovery, card: { psn: recovery.card.psn, uidHex: recovery.card.uidHex } };
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
        recovery: recoveryOnWire(entry.recovery),
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
        recovery: recoveryOnWire(entry.recovery),
      };
    case 'declined':
    case 'ack':
      return null;
    case 'tunion_grey':
    case 'tunion_final':
    case 'tunion_blocked':
      return tunionExportObject(record.seq, record.timeWallMs, entry);
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

/**
 * The quick key check of an export's verifying pass: every card key after the acks seen so far
 * must name the data key given (its key id), so a wrong key is refused before any line is
 * written. Opening each PAN is left to the export itself (journalExportLine).
 */
export class JournalExportKeyCheck {
  /** The first record after the acks seen whose PAN is sealed under another key, or null. */
  problem: PanVaultError | null = null;
  private ackThroughSeq = 0;

  constructor(private readonly vault: PanVault) {}

  /** For JournalReadOptions.onRecord. */
  readonly onRecord = (record: JournalRecord): void => {
    const entry = record.entry;
    if (entry.kind === 'ack') {
      this.ackThroughSeq = Math.max(this.ackThroughSeq, entry.throughSeq);
      if (this.problem !== null && this.problem.seq <= this.ackThroughSeq) this.problem = null;
      return;
    }
    if (this.problem !== null) return;
    // Finals and torn records are exported whenever not acknowledged; a pending only while
    // still open, known at the end only: pass 2 opens those.
    const card = entry.kind === 'final'
      ? entry.clearing.card
      : entry.kind === 'torn' ? entry.recovery.card : null;
    if (card === null || this.vault.sealedKeyIdMatches(card.panSealed)) return;
    this.problem = new PanVaultError(record.seq, 'other-key');
  };

  /** For JournalReadOptions.onPayload: the same check, a canonical payload left undecoded. */
  readonly onPayload = (
    seq: number,
    kind: JournalKind,
    payload: Uint8Array,
    facts: PayloadFacts | null,
  ): void => {
    if (facts === null || kind === 'ack') {
      this.onRecord({ seq, ...journalPayloadDecode(kind, payload, 'journal') });
      return;
    }
    if (this.problem !== null || (kind !== 'final' && kind !== 'torn')) return;
    if (this.vault.sealedKeyIdMatches(facts.text(FactSlot.PAN_SEALED))) return;
    this.problem = new PanVaultError(seq, 'other-key');
  };
}
