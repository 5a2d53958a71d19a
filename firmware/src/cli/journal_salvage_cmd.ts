// `shuaka journal export --salvage` on a CORRUPT journal: every record that still reads with
// its own checks is exported as a normal export would, and each damage is reported on stderr
// (journal_salvage.ts). Nothing on disk changes; the exit code stays 3 (corrupt).

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME } from '../app/journal/journal.js';
import {
  JournalExportKeyCheck, journalExportPayloadLine,
} from '../app/journal/journal_export.js';
import type { JournalExportContext } from '../app/journal/journal_export.js';
import { journalSalvage } from '../app/journal/journal_salvage.js';
import type { SalvageDamage, SalvageResult, SalvageSinks } from '../app/journal/journal_salvage.js';
import type { UncertainTap } from '../app/journal/journal_state.js';
import { PanVaultError, type PanVault } from '../app/journal/pan_vault.js';
import { EXIT_FAILED } from './cli_args.js';
import type { CliIo } from './cli_args.js';
import { ExportSink } from './export_sink.js';

/** Exit code of a salvage that ran: the journal is corrupt, whatever was written. */
const EXIT_SALVAGED_CORRUPT = 3;

/**
 * What pass 1 leaves for pass 2 and the report: its tally is let go before pass 2, so the two
 * passes never hold a state each.
 */
interface SalvageSurvey {
  readonly records: number;
  readonly damages: number;
  /** Why the key may not export this journal (pass 1's key check), or null. */
  readonly keyProblem: PanVaultError | null;
  readonly ackThroughSeq: number;
  readonly openSeqs: ReadonlySet<number>;
  /** The report of the open taps read before a damaged range (openTapsReport). */
  readonly openTapsLines: readonly string[];
}

/**
 * Salvages the journal in `dir` to `outPath` (stdout when null); the exit code. Two passes
 * as export: the first reports the damage, finds the highest ack, the taps still open and
 * checks the key; the second streams the lines.
 */
export async function journalSalvageExport(
  dir: string,
  vault: PanVault,
  outPath: string | null,
  io: CliIo,
): Promise<number> {
  const first = await salvageSurvey(dir, vault, io);
  if (first === null) return EXIT_FAILED;
  if (first.keyProblem !== null) {
    io.err(`not exported: ${first.keyProblem.message}`);
    return EXIT_FAILED;
  }
  const context: JournalExportContext = {
    ackThroughSeq: first.ackThroughSeq, openSeqs: first.openSeqs, vault,
  };
  const sink = await ExportSink.open(outPath, io);
  if (sink === null) return EXIT_FAILED;
  const counts = { lines: 0, clearing: 0, uncertain: 0, unopened: 0 };
  const second = await salvageRead(dir, io, {
    onPayload: (seq, kind, payload, facts) => {
      try {
        // Only the lines written are decoded, as export does (a canonical final not even).
        const line = journalExportPayloadLine(seq, kind, payload, facts, context);
        if (line === null) return;
        counts.lines += 1;
        if (line.clearing) counts.clearing += 1;
        if (line.uncertain) counts.uncertain += 1;
        sink.push(line.text);
      } catch (error) {
        if (!(error instanceof PanVaultError)) throw error;
        // The key opens the others: this record's bytes changed under a valid CRC.
        counts.unopened += 1;
        io.err(`damaged: seq ${seq}: ${error.message}: not exported`);
      }
    },
    onDamage: () => undefined,
    beforeRead: () => sink.flush(),
  }, false);
  // The same records twice, or the journal changed between the passes.
  const complete = second !== null && second.records === first.records;
  if (!(await sink.close(complete)) || second === null) return EXIT_FAILED;
  io.err(`salvaged ${first.records} records past ${first.damages} damaged `
    + `range${first.damages === 1 ? '' : 's'}: exported ${counts.lines} lines `
    + `(${counts.clearing} clearing, ${counts.uncertain} uncertain) after the ack through seq `
    + `${context.ackThroughSeq}${counts.unopened > 0 ? `, ${counts.unopened} PANs unopened` : ''}`);
  for (const line of first.openTapsLines) io.err(line);
  io.err(`journal ${dir} is CORRUPT: nothing was changed. Bring the lines to the depot `
    + '(shuaka depot ingest), move the directory away and start a new journal after the '
    + "depot's highest seq for the terminal (shuaka journal init --after-seq N)");
  return EXIT_SALVAGED_CORRUPT;
}

/**
 * Pass 1: reports each damage, tallies the records read and checks the key; null (after
 * printing why) when it cannot read. Its tally is dropped on return (see SalvageSurvey).
 */
async function salvageSurvey(dir: string, vault: PanVault, io: CliIo)
  : Promise<SalvageSurvey | null> {
  const keyCheck = new JournalExportKeyCheck(vault);
  // The last record read before a range where records may be lost (0: none).
  let lostAfterSeq = 0;
  const read = await salvageRead(dir, io, {
    onPayload: keyCheck.onPayload,
    onDamage: (damage) => {
      io.err(damageText(damage));
      if (damage.recordsLost) lostAfterSeq = Math.max(lostAfterSeq, damage.seqBefore ?? 0);
    },
  }, true);
  const state = read?.state ?? null;
  if (read === null || state === null) return null;
  const open = state.uncertainAll().filter((tap) => tap.seq > state.ackThroughSeq);
  return {
    records: read.records,
    damages: read.damages,
    keyProblem: keyCheck.problem ?? openTapKeyProblem(open, vault),
    ackThroughSeq: state.ackThroughSeq,
    openSeqs: new Set(state.uncertainSeqs()),
    openTapsLines: openTapsReport(open.filter((tap) => tap.seq <= lostAfterSeq), lostAfterSeq),
  };
}

/**
 * The first tap exported as still open (`open`: after the ack) whose PAN is sealed under
 * another key, or null. The key check of pass 1 sees finals and torn records only (which
 * pendings stay open is known at the end); a salvage may leave open a pending whose close is
 * lost, and may export nothing else.
 */
function openTapKeyProblem(open: readonly UncertainTap[], vault: PanVault)
  : PanVaultError | null {
  for (const tap of open) {
    if (!vault.sealedKeyIdMatches(tap.recovery.card.panSealed)) {
      return new PanVaultError(tap.seq, 'other-key');
    }
  }
  return null;
}

/** How many of the taps openTapsReport names are listed one by one. */
const OPEN_TAPS_LISTED_MAX = 20;

/**
 * The report naming `taps`, the taps exported as still open (pending_open, torn still
 * uncertain) that were read before a range where records are lost (through `lostAfterSeq`):
 * the final, declined, torn or reconciled record that closed one may be among them, so its
 * line is not the tap's last word. No line when there is none.
 */
function openTapsReport(taps: readonly UncertainTap[], lostAfterSeq: number): string[] {
  if (taps.length === 0) return [];
  const one = taps.length === 1;
  const lines = [`${taps.length} tap${one ? '' : 's'} exported as still open `
    + `${one ? 'was' : 'were'} read before a damaged range: a final, declined, torn or `
    + `reconciled record lost there may have closed ${one ? 'it' : 'them'}. The depot holds `
    + `${one ? 'it' : 'them'} for reconciliation (the card's next tap, the acquirer); do not `
    + `settle ${one ? 'it' : 'them'} from this export alone:`];
  for (const tap of taps.slice(0, OPEN_TAPS_LISTED_MAX)) {
    const r = tap.recovery;
    const type = tap.kind === 'pending' ? 'pending_open' : `torn of pending ${tap.pendingSeq}`;
    const psn = r.card.psn.toString(16).toUpperCase().padStart(2, '0');
    lines.push(`  seq ${tap.seq} ${type} ${r.card.panMasked} psn ${psn} atc ${r.atc}`
      + ` amount ${r.amountAuthorisedMinor} at ${new Date(tap.timeWallMs).toISOString()}`);
  }
  if (taps.length > OPEN_TAPS_LISTED_MAX) {
    lines.push(`  and ${taps.length - OPEN_TAPS_LISTED_MAX} more: every uncertain line through `
      + `seq ${lostAfterSeq}`);
  }
  return lines;
}

/** One salvage pass over `dir`, read only; null (after printing why) when it cannot read. */
async function salvageRead(dir: string, io: CliIo, sinks: SalvageSinks, tally: boolean)
  : Promise<SalvageResult | null> {
  const storage = await FileStorage.open(dir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) {
    io.err(`cannot read ${dir}: ${storage.detail}`);
    return null;
  }
  try {
    const read = await journalSalvage(storage.value, JOURNAL_FILE_NAME, sinks, { tally });
    if (!read.ok) {
      io.err(`cannot read ${dir}: ${read.detail}`);
      return null;
    }
    return read.value;
  } finally {
    await storage.value.close();
  }
}

/** The report line of one damage: where, between which seqs, what failed. */
export function damageText(damage: SalvageDamage): string {
  const before = damage.seqBefore === null ? 'no record before' : `after seq ${damage.seqBefore}`;
  const after = damage.seqAfter === null ? 'no record after' : `before seq ${damage.seqAfter}`;
  const where = damage.from === damage.to
    ? `at byte ${damage.from}`
    : `bytes ${damage.from}..${damage.to} (${damage.to - damage.from} bytes)`;
  return `damaged: ${damage.file} ${where}, ${before}, ${after}: ${damage.what}`;
}
