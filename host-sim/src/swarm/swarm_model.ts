// The swarm's checkers: a model of what must be true, compared after every event.
//
// The cards' own ledgers are the truth of what was debited; the model keeps every record the
// validator reported written (TapReport.journalSeqs) and compares it with the medium after
// every reboot. Each check can be switched off (`--check`), so a branch can run the ones that
// hold on it while another branch fixes the rest.

import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { LogEvent } from '../../../firmware/src/app/validator/validator_ports.js';
import type { RiderCard } from '../sim/bus_riders.js';
import type { StorageSim } from '../storage_sim.js';
import {
  JournalFollower,
  journalDurableImage,
  journalDurableTail,
  JournalScanner,
  type SwarmJournalScan,
  type SwarmRecord,
} from './swarm_journal.js';
import type { SwarmCheck } from './swarm_options.js';
import { PanFinder } from './swarm_pan.js';

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
  readonly card: RiderCard;
  readonly ledgerAtStart: number;
}

/** The PAN a ledger entry was made with (a co-badged card has one per application). */
function ledgerPan(card: RiderCard, aidHex: string): string {
  const apps = card.card.profile.applications;
  return apps.find((a) => a.aidHex === aidHex)?.pan ?? apps[0]?.pan ?? '';
}

export class SwarmModel {
  readonly violations: SwarmViolation[] = [];
  private readonly committed = new Map<number, string>();
  /** PAN token/ATC of every durable pending, torn or final record; finals separately. */
  private readonly debitKeys = new Set<string>();
  private readonly finalKeys = new Set<string>();
  private readonly follower = new JournalFollower();
  /** Full scans go on from the last one while the medium keeps the bytes it read. */
  private readonly scanner = new JournalScanner();
  private readonly panFinder: PanFinder;
  /** Ledger entries already matched to a record, per card. */
  private readonly ledgerSeen = new Map<RiderCard, number>();
  private logsSeen = 0;
  private mediumScannedBytes = 0;
  /** The durable image the last full check searched (bytes nobody changes: a copy). */
  private searchedImage: Uint8Array = new Uint8Array(0);
  private paramsVersionMax = 0;
  /** Tokens of the population's PANs (the checker's own memory, not the validator's). */
  private readonly tokens = new Map<string, string>();
  event = 0;

  /**
   * `panToken`: the board's PAN token (the journal keeps cards by token, never by PAN), so a
   * ledger entry finds its records.
   */
  constructor(
    private readonly checks: ReadonlySet<SwarmCheck>,
    private readonly cards: readonly RiderCard[],
    private readonly panToken: (pan: string) => string,
  ) {
    this.panFinder = new PanFinder(
      cards.flatMap((c) => c.card.profile.applications.map((a) => a.pan)),
    );
  }

  on(check: SwarmCheck): boolean {
    return this.checks.has(check);
  }

  fail(check: SwarmCheck, message: string): void {
    if (this.on(check)) this.violations.push({ check, event: this.event, message });
  }

  /** A fare begins: remember how many debits its card had. */
  fareStart(card: RiderCard): SwarmFare {
    return { card, ledgerAtStart: card.card.ledger().length };
  }

  /** A fare ended (its last re-tap answered or abandoned): at most one debit. */
  fareEnd(fare: SwarmFare): void {
    const added = fare.card.card.ledger().length - fare.ledgerAtStart;
    if (added > 1) {
      this.fail('double-charge', `${fare.card.name} debited ${added} times in one fare`);
    }
    if (added > 0 && NEVER_DEBITED.has(fare.card.name)) {
      this.fail('refused-cards', `${fare.card.name} card was debited`);
    }
  }

  /**
   * After a tap on a running board: the records it reported are durable, every debit of the
   * card has a record, no clearing record twice, no PAN in new bytes or log lines.
   */
  afterTap(
    storage: StorageSim,
    card: RiderCard,
    report: TapReport | null,
    logs: readonly LogEvent[],
  ): void {
    const overlap = this.panFinder.needleBytesMax + 12;
    const from = Math.max(0, Math.min(this.follower.position(), this.mediumScannedBytes - overlap));
    const tail = journalDurableTail(storage, from);
    const fresh = this.follower.next(tail.bytes, from);
    for (const record of fresh) this.index(record);
    let older: SwarmJournalScan | null = null;
    for (const seq of report?.journalSeqs ?? []) {
      if (this.committed.has(seq)) continue;
      let record = fresh.find((r) => r.seq === seq);
      // A re-tap may report the record its torn first tap wrote before a reboot.
      older ??= record === undefined ? this.scanDurable(storage) : null;
      record ??= older?.records.find((r) => r.seq === seq);
      if (record === undefined) this.fail('committed', `reported record ${seq} is not durable`);
      else this.committed.set(seq, record.payload);
    }
    this.checkLedger(card);
    this.checkNewBytes(tail.bytes, from, tail.lengthBytes);
    this.checkNewLogs(logs);
  }

  /**
   * After a power cut and restart of the medium (before the reboot's recovery): every
   * committed record is still there, unchanged; only a torn tail may follow them.
   */
  afterRestart(storage: StorageSim): void {
    const scan = this.scanDurable(storage);
    if (scan.corruption !== null) {
      this.fail('journal-verifies', `after the power cut: ${scan.corruption}`);
    }
    this.compareCommitted(scan, 'after the power cut');
  }

  /** After a boot (journal open, recovery done): full scan, rebuild the indexes. */
  afterBoot(storage: StorageSim, logs: readonly LogEvent[], paramsVersion: number): void {
    this.logsSeen = 0;
    this.fullCheck(storage, 'after boot');
    this.checkNewLogs(logs);
    if (paramsVersion < this.paramsVersionMax) {
      this.fail(
        'params',
        `parameter version went back from ${this.paramsVersionMax} to ${paramsVersion}`,
      );
    }
    this.paramsVersionMax = Math.max(this.paramsVersionMax, paramsVersion);
  }

  /** A set that must be refused was activated. */
  corruptActivated(detail: string): void {
    this.fail('params', `a corrupt parameter set was activated: ${detail}`);
  }

  /** Whole-medium check (every few taps and at the end): verify, committed, PANs at rest. */
  fullCheck(storage: StorageSim, where: string): void {
    const image = journalDurableImage(storage);
    const scan = this.scanner.scan(image);
    if (scan.corruption !== null) this.fail('journal-verifies', `${where}: ${scan.corruption}`);
    if (scan.tornTail) this.fail('journal-verifies', `${where}: a torn tail after recovery`);
    this.compareCommitted(scan, where);
    this.follower.reset(scan);
    this.debitKeys.clear();
    this.finalKeys.clear();
    for (const record of scan.records) this.index(record);
    // Bytes equal to those of the last full check were searched then (its image is kept):
    // the search starts where they differ, less a needle's length.
    this.mediumScannedBytes = commonPrefixBytes(image, this.searchedImage);
    this.checkNewBytes(image, 0, image.length);
    this.searchedImage = image;
  }

  /** The whole run's ledgers against the journal (end of run). */
  finalLedgers(): void {
    for (const card of this.cards) this.checkLedger(card);
  }

  paramsVersionHighest(): number {
    return this.paramsVersionMax;
  }

  /** A full scan of the durable journal (it goes on from the previous one where it can). */
  private scanDurable(storage: StorageSim): SwarmJournalScan {
    return this.scanner.scan(journalDurableImage(storage));
  }

  private compareCommitted(scan: SwarmJournalScan, where: string): void {
    if (!this.on('committed')) return;
    const bySeq = scan.payloadBySeq;
    for (const [seq, payload] of this.committed) {
      const found = bySeq.get(seq);
      if (found === undefined) {
        this.fail('committed', `${where}: committed record ${seq} is gone`);
        return;
      }
      if (found !== payload) {
        this.fail('committed', `${where}: committed record ${seq} was altered`);
        return;
      }
    }
  }

  private index(record: SwarmRecord): void {
    const key = record.debit;
    if (key === null) return;
    this.debitKeys.add(key.key);
    if (!key.final) return;
    if (this.finalKeys.has(key.key))
      this.fail('double-charge', `clearing record twice: ${key.key}`);
    this.finalKeys.add(key.key);
  }

  private checkLedger(card: RiderCard): void {
    const ledger = card.card.ledger();
    const seen = this.ledgerSeen.get(card) ?? 0;
    for (let i = seen; i < ledger.length; i += 1) {
      const entry = ledger[i];
      if (entry === undefined) continue;
      const key = `${this.tokenOf(ledgerPan(card, entry.aidHex))}/${entry.atc}`;
      if (!this.debitKeys.has(key)) {
        this.fail('durable-debit', `debit ${card.name} ATC ${entry.atc} has no durable record`);
      }
    }
    this.ledgerSeen.set(card, ledger.length);
  }

  /** The PAN's token, computed once per PAN of the run's population (an HMAC each). */
  private tokenOf(pan: string): string {
    let token = this.tokens.get(pan);
    if (token === undefined) {
      token = this.panToken(pan);
      this.tokens.set(pan, token);
    }
    return token;
  }

  /** PANs in the durable bytes `tail` (starting at byte `tailStart`) not yet searched. */
  private checkNewBytes(tail: Uint8Array, tailStart: number, lengthBytes: number): void {
    if (!this.on('no-pan')) return;
    const from = Math.max(tailStart, this.mediumScannedBytes - this.panFinder.needleBytesMax - 12);
    const found = this.panFinder.findInBytes(tail.subarray(from - tailStart));
    if (found !== null)
      this.fail('no-pan', `journal medium: ${found} (searched from byte ${from})`);
    this.mediumScannedBytes = lengthBytes;
  }

  private checkNewLogs(logs: readonly LogEvent[]): void {
    if (!this.on('no-pan')) return;
    for (let i = this.logsSeen; i < logs.length; i += 1) {
      const found = this.panFinder.findInText(JSON.stringify(logs[i]));
      if (found !== null) this.fail('no-pan', `log line ${i}: ${found}`);
    }
    this.logsSeen = logs.length;
  }
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
