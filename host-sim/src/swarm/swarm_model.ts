// The swarm's checkers: a model of what must be true, compared after every event.
//
// The cards' own ledgers are the truth of what was debited; the model keeps every record the
// validator reported written (TapReport.journalSeqs) and compares it with the medium after
// every reboot. Each check can be switched off (`--check`), so a branch can run the ones that
// hold on it while another branch fixes the rest.

import { Buffer } from 'node:buffer';

import {
  journalExportPayloadLine,
  type JournalExportContext,
} from '../../../firmware/src/app/journal/journal_export.js';
import {
  PayloadFacts,
  payloadFastCheck,
} from '../../../firmware/src/app/journal/journal_payload_fast.js';
import type { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { LogEvent } from '../../../firmware/src/app/validator/validator_ports.js';
import {
  isTunionRider,
  type AnyRiderCard,
  type RiderCard,
  type RiderPool,
  type TunionRiderCard,
} from '../sim/bus_riders.js';
import type { StorageSim } from '../storage_sim.js';
import type { SwarmDepot } from './swarm_depot.js';
import {
  JournalFollower,
  journalDurableFiles,
  journalScanDurable,
  SwarmRecordMemo,
  tunionKey,
  validatorFile,
  type FollowedBytes,
  type SwarmJournalScan,
  type SwarmRecord,
} from './swarm_journal.js';
import type { SwarmCheck } from './swarm_options.js';
import { PanFinder } from './swarm_pan.js';
import { SearchedImages } from './swarm_searched.js';
import { SwarmTunionModel, TUNION_NEVER_DEBITED, tunionDebitKey } from './swarm_tunion.js';
import { SwarmTunionBlocks } from './swarm_tunion_blocks.js';

/** The name ending of a journal checkpoint (journal_files.ts, checkpointName). */
const CHECKPOINT_SUFFIX = '.ckpt';
/** What a T-Union tap's reason says when the card debited and the final was not written. */
const TUNION_FINAL_NOT_JOURNALLED = 'final not journalled';
/** Cards a correct validator never debits (bus_checks.ts keeps the same list). */
const NEVER_DEBITED = new Set(['deny-listed', 'clone', 'revoked-issuer', 'expired']);

/** One broken invariant. */
export interface SwarmViolation {
  readonly check: SwarmCheck;
  /** Index of the tap (event) after which it was found. */
  readonly event: number;
  readonly message: string;
}

/** A rider's fare: a tap and the re-taps that finish it; at most one debit in total. */
export interface SwarmFare {
  readonly card: AnyRiderCard;
  readonly ledgerAtStart: number;
}

/** The debits a card made so far (its ledger, or a T-Union card's debit list). */
function debitCount(card: AnyRiderCard): number {
  return isTunionRider(card) ? card.card.debits().length : card.card.ledger().length;
}

/** The board's clock and torn window at the end of a tap (T-Union recovery is timed by it). */
export interface SwarmTapClock {
  readonly wallMs: number;
  readonly tornWindowMs: number;
}

/** The PAN a ledger entry was made with (a co-badged card has one per application). */
function ledgerPan(card: RiderCard, aidHex: string): string {
  const apps = card.card.profile.applications;
  return apps.find((a) => a.aidHex === aidHex)?.pan ?? apps[0]?.pan ?? '';
}

/** A record the validator reported written: its kind and payload, as the medium must keep. */
interface CommittedRecord {
  readonly kind: SwarmRecord['kind'];
  readonly payload: string;
}

/** Kinds the uploader always sends (a pending only while open, declined and ack never). */
const ALWAYS_UPLOADED = new Set<string>(['final', 'torn', 'reconciled', 'tunion_grey',
  'tunion_final', 'tunion_blocked']);

/** Kinds whose records must be at the depot before their segment is reclaimed. */
const CLEARED_BEFORE_RECLAIM = new Set<string>(['final', 'tunion_grey', 'tunion_final',
  'tunion_blocked']);

/** Depot lines compared byte for byte with the journal's export of their record. */
const COMPARED_LINES = new Set<unknown>(['clearing', 'tunion_clearing', 'tunion_grey',
  'tunion_blocked']);

export class SwarmModel {
  readonly violations: SwarmViolation[] = [];
  /** Records reported written and not yet reclaimed after the depot acknowledged them. */
  private readonly committed = new Map<number, CommittedRecord>();
  /** PAN token/ATC of every pending, torn or final record on the medium; finals by seq. */
  private readonly mediumDebits = new Set<string>();
  private readonly mediumFinals = new Map<string, number>();
  /** The same for the lines the depot stored (it never loses one). */
  private readonly depotDebits = new Set<string>();
  private readonly depotFinals = new Map<string, number>();
  /** Seqs of the clearing lines the depot stored (a paid tap's final may be only there). */
  private readonly depotClearingSeqs = new Set<number>();
  /** Clearing lines the depot stored for a seq not yet reported committed (checked then). */
  private readonly depotAhead = new Map<number, string>();
  private readonly follower = new JournalFollower();
  /** The records of the last full scan and those followed since (each decided once). */
  private readonly memo = new SwarmRecordMemo();
  private readonly panFinder: PanFinder;
  /** Ledger entries already matched to a record, per card. */
  private readonly ledgerSeen = new Map<AnyRiderCard, number>();
  /** Every card of the run, bank and T-Union (the end checks every ledger). */
  private readonly cards: readonly AnyRiderCard[];
  private readonly tunion: SwarmTunionModel;
  private readonly blocks: SwarmTunionBlocks;
  private logsSeen = 0;
  /**
   * Each file's bytes searched so far: the last full check's images, and the segment bytes the
   * follower searched since (copies nobody changes).
   */
  private readonly searched: SearchedImages;
  /** Bytes searched again before new ones: a needle across the boundary is found. */
  private readonly overlapBytes: number;
  /** Acknowledged records up to here were checked to be at the depot. */
  private ackCheckedThrough = 0;
  private paramsVersionMax = 0;
  /** Tokens of the population's PANs (the checker's own memory, not the validator's). */
  private readonly tokens = new Map<string, string>();
  private readonly facts = new PayloadFacts();
  /** A clearing line does not depend on the ack or on open taps: only the vault matters. */
  private readonly exportContext: JournalExportContext;
  event = 0;

  /**
   * `vault`: the boards' data key (the journal keeps cards by token, never by PAN, so a ledger
   * entry finds its records by token; the depot's clearing lines are compared with the
   * journal's). `depot`: where the boards' uploads go.
   */
  constructor(
    private readonly checks: ReadonlySet<SwarmCheck>,
    pool: Pick<RiderPool, 'cards' | 'tunion'>,
    private readonly vault: PanVault,
    private readonly depot: SwarmDepot,
  ) {
    this.exportContext = { ackThroughSeq: 0, openSeqs: new Set(), vault };
    // A T-Union card number is no payment-card PAN (tunion_session.ts shows it whole).
    this.panFinder = new PanFinder(
      pool.cards.flatMap((c) => c.card.profile.applications.map((a) => a.pan)),
    );
    this.overlapBytes = this.panFinder.needleBytesMax + 12;
    this.searched = new SearchedImages(this.overlapBytes);
    this.cards = [...pool.cards, ...pool.tunion];
    const index = {
      durable: (key: string) => this.mediumDebits.has(key) || this.depotDebits.has(key),
      finished: (key: string) => this.mediumFinals.has(key) || this.depotFinals.has(key),
    };
    this.tunion = new SwarmTunionModel(pool.tunion, index, (check, message) =>
      this.fail(check, message));
    this.blocks = new SwarmTunionBlocks(
      pool.tunion.filter((c) => c.name === 'tunion-deny-listed'),
      (check, message) => this.fail(check, message));
  }

  on(check: SwarmCheck): boolean {
    return this.checks.has(check);
  }

  fail(check: SwarmCheck, message: string): void {
    if (this.on(check)) this.violations.push({ check, event: this.event, message });
  }

  /** A fare begins: remember how many debits its card had. */
  fareStart(card: AnyRiderCard): SwarmFare {
    return { card, ledgerAtStart: debitCount(card) };
  }

  /** A fare ended (its last re-tap answered or abandoned): at most one debit. */
  fareEnd(fare: SwarmFare): void {
    const added = debitCount(fare.card) - fare.ledgerAtStart;
    if (added > 1) {
      this.fail('double-charge', `${fare.card.name} debited ${added} times in one fare`);
    }
    const never = NEVER_DEBITED.has(fare.card.name) || TUNION_NEVER_DEBITED.has(fare.card.name);
    if (added > 0 && never) {
      this.fail('refused-cards', `${fare.card.name} card was debited`);
    }
  }

  /** True when a T-Union card's newest debit has no final record yet (a torn tap). */
  tunionUnfinished(card: TunionRiderCard): boolean {
    return this.tunion.unfinished(card);
  }

  /** A tap begins (its card placed next): what a T-Union card's next tap must finish. */
  tapBegins(card: AnyRiderCard): void {
    this.tunion.tapBegins(card);
  }

  /**
   * After a tap on a running board: the records it reported are durable, every debit of the
   * card has a record (on the medium or at the depot), no clearing record twice, what the
   * depot stored is what the journal holds, no PAN in new bytes or log lines; a T-Union
   * card's torn debit finished (`clock`: the board's, as the tap ended).
   */
  afterTap(
    storage: StorageSim,
    card: AnyRiderCard,
    report: TapReport | null,
    logs: readonly LogEvent[],
    clock: SwarmTapClock,
  ): void {
    const followed = this.follower.next(storage, this.overlapBytes);
    for (const record of followed.records) {
      this.memo.followed(record);
      this.indexMedium(record);
    }
    let older: SwarmJournalScan | null = null;
    for (const seq of report?.journalSeqs ?? []) {
      if (this.committed.has(seq)) continue;
      let record = followed.records.find((r) => r.seq === seq);
      // A re-tap may report the record its torn first tap wrote before a reboot.
      older ??= record === undefined
        ? journalScanDurable(storage, journalDurableFiles(storage), this.memo)
        : null;
      record ??= older?.records.find((r) => r.seq === seq);
      if (record !== undefined) this.commit(record);
      else if (older === null || !reclaimable(seq, older)) {
        this.fail('committed', `reported record ${seq} is not durable`);
      }
    }
    this.takeDepot();
    if (report !== null) this.checkPaidHasFinal(report);
    this.checkLedger(card);
    this.tunion.tapEnded(card, report, clock.wallMs, clock.tornWindowMs);
    if (card.name === 'tunion-deny-listed' && report?.result === 'approved') {
      this.fail('refused-cards', `${card.name} ${card.card.profile.applicationSerial} was `
        + `approved: its number is on the deny list`);
    }
    this.checkFollowed(followed.read);
    this.checkNewCheckpoints(storage);
    this.checkNewLogs(logs);
  }

  /**
   * A rider told "paid" (approved) or "admitted, charged later" rode on a clearing record: the
   * tap's reported records include a durable final (a T-Union final). Without it the fare never
   * reaches clearing, and a pending alone is later written off as not debited. One exception:
   * a T-Union card that debited itself (or proved it did) while the journal refused the final
   * (disk full): the rider paid and is told so, the grey record stays durable (durable-debit)
   * and open, finished at the card's next tap.
   */
  private checkPaidHasFinal(report: TapReport): void {
    if (report.result !== 'approved' && report.result !== 'admitted') return;
    if ((report.fareRule ?? '').startsWith('tunion-')
      && report.reason.includes(TUNION_FINAL_NOT_JOURNALLED)) return;
    // A final uploaded, acknowledged and reclaimed before this look is the depot's clearing line.
    const final = report.journalSeqs.some((seq) => {
      const kind = this.committed.get(seq)?.kind;
      return kind === 'final' || kind === 'tunion_final' || this.depotClearingSeqs.has(seq);
    });
    if (!final) {
      this.fail('committed', `a tap ${report.result} (${report.reason}) has no durable final `
        + `record among its records ${report.journalSeqs.join(',') || '(none)'}`);
    }
  }

  /**
   * After a power cut and restart of the medium (before the reboot's recovery): every
   * committed record is still there, unchanged, or was reclaimed once acknowledged; only a
   * torn tail may follow them.
   */
  afterRestart(storage: StorageSim): void {
    const scan = journalScanDurable(storage, journalDurableFiles(storage), this.memo);
    if (scan.corruption !== null) {
      this.fail('journal-verifies', `after the power cut: ${scan.corruption}`);
    }
    this.compareCommitted(scan, 'after the power cut');
  }

  /** After a boot (journal open, recovery done): full scan, rebuild the indexes. */
  afterBoot(storage: StorageSim, logs: readonly LogEvent[], paramsVersion: number): void {
    this.logsSeen = 0;
    this.fullCheck(storage, 'after boot');
    // A power cut may have hit a block: the card's record must have survived it.
    this.blocks.checkCards();
    this.checkNewLogs(logs);
    if (paramsVersion < this.paramsVersionMax) {
      this.fail(
        'params',
        `parameter version went back from ${this.paramsVersionMax} to ${paramsVersion}`,
      );
    }
    this.paramsVersionMax = Math.max(this.paramsVersionMax, paramsVersion);
  }

  /** The log lines a board wrote since its last tap, as its power goes (no PAN in them). */
  lastLogs(logs: readonly LogEvent[]): void {
    this.checkNewLogs(logs);
  }

  /** A set that must be refused was activated. */
  corruptActivated(detail: string): void {
    this.fail('params', `a corrupt parameter set was activated: ${detail}`);
  }

  /**
   * Whole-medium check (every few taps, after every boot and at the end): the journal
   * verifies, committed records, acknowledged records at the depot, no PAN in any file.
   */
  fullCheck(storage: StorageSim, where: string): void {
    // One copy of the medium for the scan and the PAN search.
    const files = storage.durableFiles(validatorFile);
    const scan = journalScanDurable(storage, files, this.memo);
    if (scan.corruption !== null) this.fail('journal-verifies', `${where}: ${scan.corruption}`);
    if (scan.tornTail) this.fail('journal-verifies', `${where}: a torn tail after recovery`);
    this.takeDepot();
    this.compareCommitted(scan, where);
    this.checkAcknowledged(scan, where);
    this.follower.reset(scan);
    this.mediumDebits.clear();
    this.mediumFinals.clear();
    this.blocks.mediumReset();
    for (const record of scan.records) this.indexMedium(record);
    this.searchMedium(files);
  }

  /** The whole run's ledgers against the journal and the depot (end of run). */
  finalLedgers(): void {
    this.takeDepot();
    for (const card of this.cards) this.checkLedger(card);
  }

  paramsVersionHighest(): number {
    return this.paramsVersionMax;
  }

  private commit(record: SwarmRecord): void {
    this.committed.set(record.seq, { kind: record.kind, payload: record.payload });
    const ahead = this.depotAhead.get(record.seq);
    if (ahead === undefined) return;
    this.depotAhead.delete(record.seq);
    this.compareLine(record.seq, ahead, record);
  }

  private compareCommitted(scan: SwarmJournalScan, where: string): void {
    const bySeq = scan.payloadBySeq;
    for (const [seq, record] of this.committed) {
      const found = bySeq.get(seq);
      if (found === undefined && reclaimable(seq, scan)) {
        // Reclaimed once acknowledged: a clearing record must have reached the depot.
        if (CLEARED_BEFORE_RECLAIM.has(record.kind) && !this.depot.has(seq)) {
          this.fail('uploaded', `${where}: clearing record ${seq} (${record.kind}) reclaimed, `
            + `never at the depot`);
        }
        this.committed.delete(seq);
        continue;
      }
      if (found === undefined) {
        this.fail('committed', `${where}: committed record ${seq} is gone`);
        return;
      }
      if (found !== record.payload) {
        this.fail('committed', `${where}: committed record ${seq} was altered`);
        return;
      }
    }
  }

  /** Records the durable ack covers and the uploader always sends are at the depot. */
  private checkAcknowledged(scan: SwarmJournalScan, where: string): void {
    if (scan.ackThroughSeq <= this.ackCheckedThrough) return;
    for (const record of scan.records) {
      if (record.seq <= this.ackCheckedThrough || record.seq > scan.ackThroughSeq) continue;
      if (ALWAYS_UPLOADED.has(record.kind) && !this.depot.has(record.seq)) {
        this.fail('uploaded', `${where}: record ${record.seq} (${record.kind}) is acknowledged `
          + `but the depot never stored it`);
        return;
      }
    }
    this.ackCheckedThrough = scan.ackThroughSeq;
  }

  /** The depot's new lines: their cards' debits, clearing twice, equal to the journal's. */
  private takeDepot(): void {
    for (const stored of this.depot.takeFresh()) {
      const { line, seq } = stored;
      this.blocks.depotLine(seq, line);
      const key = this.depotLineKey(line);
      if (key !== null) {
        this.depotDebits.add(key);
        if (line['type'] === 'tunion_grey') this.tunion.depotGrey(key, line['timeWallMs']);
        if (line['type'] === 'clearing' || line['type'] === 'tunion_clearing') {
          const other = this.depotFinals.get(key);
          if (other !== undefined && other !== seq) {
            this.fail('double-charge', `clearing twice at the depot: ${key} (${other}, ${seq})`);
          }
          this.depotFinals.set(key, seq);
          this.depotClearingSeqs.add(seq);
        }
      }
      if (!COMPARED_LINES.has(line['type'])) continue;
      const committed = this.committed.get(seq);
      if (committed === undefined) this.depotAhead.set(seq, stored.text);
      else this.compareLine(seq, stored.text, committed);
    }
  }

  /**
   * The debit a depot line speaks for, keyed as the journal's records are (swarm_journal.ts):
   * a bank card by PAN token and ATC, a T-Union card by card number and the serial of its
   * INITIALIZE FOR PURCHASE; null for a line of no debit.
   */
  private depotLineKey(line: Readonly<Record<string, unknown>>): string | null {
    const type = line['type'];
    if (type === 'tunion_grey' || type === 'tunion_clearing') {
      const card = line['card'] as Record<string, unknown> | undefined;
      const purchase = line['purchase'] as Record<string, unknown> | undefined;
      const serial = card?.['serialDigits'];
      const atc = purchase?.['atc'];
      return typeof serial === 'string' && typeof atc === 'number'
        ? tunionKey(serial, atc)
        : null;
    }
    const recovery = line['recovery'] as Record<string, unknown> | undefined;
    const atc = type === 'clearing' ? line['atc'] : recovery?.['atc'];
    const pan = line['pan'];
    return typeof pan === 'string' && typeof atc === 'number'
      ? `${this.tokenOf(pan)}/${atc}`
      : null;
  }

  /** The depot's clearing line for `seq` is the one the journal's record exports to. */
  private compareLine(seq: number, text: string, record: CommittedRecord): void {
    if (!this.on('uploaded')) return;
    const payload = Buffer.from(record.payload, 'latin1');
    const canonical = payloadFastCheck(record.kind, payload, this.facts);
    const expected = journalExportPayloadLine(
      seq, record.kind, payload, canonical ? this.facts : null, this.exportContext,
    );
    if (expected?.text !== text) {
      this.fail('uploaded', `the depot's line for seq ${seq} is not the journal's record`);
    }
  }

  private indexMedium(record: SwarmRecord): void {
    this.tunion.record(record);
    this.blocks.mediumRecord(record);
    const key = record.debit;
    if (key === null) return;
    this.mediumDebits.add(key.key);
    if (!key.final) return;
    const other = this.mediumFinals.get(key.key) ?? this.depotFinals.get(key.key);
    if (other !== undefined && other !== record.seq) {
      this.fail('double-charge', `clearing record twice: ${key.key} (${other}, ${record.seq})`);
    }
    this.mediumFinals.set(key.key, record.seq);
  }

  private checkLedger(card: AnyRiderCard): void {
    if (isTunionRider(card)) {
      this.checkTunionDebits(card);
      this.blocks.checkCard(card);
      return;
    }
    const ledger = card.card.ledger();
    const seen = this.ledgerSeen.get(card) ?? 0;
    for (let i = seen; i < ledger.length; i += 1) {
      const entry = ledger[i];
      if (entry === undefined) continue;
      const key = `${this.tokenOf(ledgerPan(card, entry.aidHex))}/${entry.atc}`;
      if (!this.mediumDebits.has(key) && !this.depotDebits.has(key)) {
        this.fail('durable-debit', `debit ${card.name} ATC ${entry.atc} has no durable record`);
      }
    }
    this.ledgerSeen.set(card, ledger.length);
  }

  /** A T-Union card's new debits: each has a grey or final record (its key). */
  private checkTunionDebits(card: TunionRiderCard): void {
    const debits = card.card.debits();
    const serial = card.card.profile.applicationSerial;
    for (let i = this.ledgerSeen.get(card) ?? 0; i < debits.length; i += 1) {
      const key = tunionDebitKey(serial, debits[i]?.atc ?? 0);
      if (!this.mediumDebits.has(key) && !this.depotDebits.has(key)) {
        this.fail('durable-debit', `debit ${card.name} ${key} has no durable record`);
      }
    }
    this.ledgerSeen.set(card, debits.length);
  }

  /** The PAN's token, computed once per PAN of the run's population (an HMAC each). */
  private tokenOf(pan: string): string {
    let token = this.tokens.get(pan);
    if (token === undefined) {
      token = this.vault.token(pan);
      this.tokens.set(pan, token);
    }
    return token;
  }

  /**
   * PANs in the segment bytes the follower just read; bytes with none are searched (the next
   * full check does not search them again), bytes with one are searched again then.
   */
  private checkFollowed(read: readonly FollowedBytes[]): void {
    if (!this.on('no-pan')) return;
    for (const chunk of read) {
      const found = this.panFinder.findInBytes(chunk.bytes);
      if (found !== null) {
        this.fail('no-pan', `journal medium ${chunk.name}: ${found} (from byte ${chunk.offset})`);
        this.searched.forget(chunk.name);
      } else {
        this.searched.followed(chunk);
      }
    }
  }

  /**
   * PANs in the checkpoints written since the last look (one starts each segment): one written
   * and reclaimed between two full checks would otherwise never be searched. A checkpoint is
   * written whole, once (a replace), so one searched under its name is not searched again.
   */
  private checkNewCheckpoints(storage: StorageSim): void {
    if (!this.on('no-pan')) return;
    for (const name of storage.durableNames()) {
      if (!name.endsWith(CHECKPOINT_SUFFIX) || this.searched.has(name)) continue;
      const image = storage.durableBytes(name);
      const found = this.panFinder.findInBytes(image);
      if (found !== null) this.fail('no-pan', `journal medium ${name}: ${found}`);
      this.searched.set(name, image);
    }
  }

  /**
   * PANs in every file the validator keeps on the medium (segments, checkpoints, quarantine
   * copies): bytes equal to those searched already (by the last full check or the follower
   * since: SearchedImages) are not searched again, less a needle's length.
   */
  private searchMedium(files: Map<string, Uint8Array>): void {
    if (!this.on('no-pan')) return;
    for (const [name, image] of files) {
      const before = this.searched.get(name);
      const same = before === undefined ? 0 : commonPrefixBytes(image, before);
      const from = Math.max(0, same - this.overlapBytes);
      const found = this.panFinder.findInBytes(image.subarray(from));
      if (found !== null) this.fail('no-pan', `journal medium ${name}: ${found} (from ${from})`);
    }
    this.searched.replace(files);
  }

  /**
   * New log lines: no PAN in any; and no upload pass that found the journal damaged (the
   * swarm only tears tails, which are no damage: the pass read the journal otherwise than
   * `journal verify` and the validator do, and stopped every upload after that point).
   */
  private checkNewLogs(logs: readonly LogEvent[]): void {
    const pan = this.on('no-pan');
    const journal = this.on('journal-verifies');
    for (let i = this.logsSeen; i < logs.length; i += 1) {
      const event = logs[i];
      const detail = event?.['detail'];
      if (journal && event?.['event'] === 'upload-journal-unreadable'
        && typeof detail === 'string' && detail.startsWith('journal damaged')) {
        this.fail('journal-verifies', `log line ${i}: an upload pass stopped: ${detail}`);
      }
      if (!pan) continue;
      const found = this.panFinder.findInEvent(event);
      if (found !== null) this.fail('no-pan', `log line ${i}: ${found}`);
    }
    this.logsSeen = logs.length;
  }
}

/** A record gone from the medium may have been reclaimed: before the oldest segment, acked. */
function reclaimable(seq: number, scan: SwarmJournalScan): boolean {
  return seq < scan.firstSeq && seq <= scan.ackThroughSeq;
}

/** Length of the longest common prefix of `a` and `b` (4 KiB compared at a time). */
function commonPrefixBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  const left = Buffer.from(a.buffer, a.byteOffset, length);
  const right = Buffer.from(b.buffer, b.byteOffset, length);
  let at = 0;
  const chunk = 4096;
  while (at + chunk <= length && left.compare(right, at, at + chunk, at, at + chunk) === 0) {
    at += chunk;
  }
  while (at < length && left[at] === right[at]) at += 1;
  return at;
}
