// The swarm's T-Union (JT/T 978) checks. The truth is each card twin's own list of debits
// (amount, offline serial, TAC: host-sim/src/cards/tunion_card.ts); the journal keys a T-Union
// record by card number and the serial INITIALIZE FOR PURCHASE gave (swarm_journal.ts,
// recordDebitKey), and the card counts its debit at that serial plus one (domain.md 7.4).
//
// Checked here: a final record is the card's own debit (a final the card never made would
// charge a rider for nothing), and a debit torn from its final (card pulled after DEBIT, power
// cut before the final) is finished by the card's proof at its next approved tap within the
// torn window, not charged again (domain.md 7.5). SwarmModel checks the rest as for bank
// cards: every debit durable, one debit a fare, one final a debit, records at the depot.

import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import { isTunionRider, type AnyRiderCard, type TunionRiderCard } from '../sim/bus_riders.js';
import { tunionKey, type SwarmRecord } from './swarm_journal.js';
import type { SwarmCheck } from './swarm_options.js';

/** T-Union cards a correct validator never debits (bus_checks_tunion.ts). */
export const TUNION_NEVER_DEBITED = new Set(['tunion-blocked', 'tunion-expired',
  'tunion-deny-listed']);

/** What the model knows of a debit key, on the medium or at the depot. */
export interface TunionDebitIndex {
  /** A grey or final record speaks for it. */
  durable(key: string): boolean;
  /** A final record speaks for it. */
  finished(key: string): boolean;
}

/** The journal's key of the debit a card counts at `atcAfter` (its serial before, plus one). */
export function tunionDebitKey(serialDigits: string, atcAfter: number): string {
  return tunionKey(serialDigits, (atcAfter - 1) & 0xffff);
}

/** The firmware's reason of a recovered tap whose final could not be written (disk full). */
const RECOVERED_NOT_JOURNALLED = 'recovered, final not journalled';

/** The card's newest debit, left without a final when its tap began. */
interface OpenTorn {
  readonly card: TunionRiderCard;
  readonly key: string;
  readonly debitsBefore: number;
  readonly greyWallMs: number;
}

/** One debit of a T-Union card twin, as its list holds it. */
type TunionDebit = ReturnType<TunionRiderCard['card']['debits']>[number];

export class SwarmTunionModel {
  private readonly bySerial = new Map<string, TunionRiderCard>();
  /**
   * Each card's debits by their journal key (the first of a key, as a search of the list from
   * its start finds it), and how many of the list are in it: the list only grows.
   */
  private readonly debitsByKey = new Map<TunionRiderCard, {
    indexed: number;
    readonly byKey: Map<string, TunionDebit>;
  }>();
  /** Wall time of the newest grey record of each key (the torn window runs from it). */
  private readonly greyWallMs = new Map<string, number>();
  /** Records up to this seq were looked at (a full scan hands the same records again). */
  private seenThroughSeq = 0;
  private open: OpenTorn | null = null;

  constructor(
    cards: readonly TunionRiderCard[],
    private readonly index: TunionDebitIndex,
    private readonly fail: (check: SwarmCheck, message: string) => void,
  ) {
    for (const card of cards) this.bySerial.set(card.card.profile.applicationSerial, card);
  }

  /** A durable record, oldest first: a grey's time; a final against the card's debit. */
  record(record: SwarmRecord): void {
    if (record.seq <= this.seenThroughSeq) return;
    this.seenThroughSeq = record.seq;
    const key = record.debit?.key;
    // The scan or the follower decided the record (its entry's fields, as it decodes).
    const facts = record.tunion;
    if (key === undefined || facts === null) return;
    if (record.kind === 'tunion_grey') this.greyWallMs.set(key, facts.timeWallMs);
    const final = facts.final;
    if (final === null) return;
    const rider = this.bySerial.get(final.serialDigits);
    const debit = rider === undefined ? undefined : this.debitOf(rider, key);
    const name = rider?.name ?? 'an unknown T-Union card';
    if (debit === undefined) {
      this.fail('double-charge', `T-Union final ${record.seq} (${name} ${key}): the card made `
        + `no such debit`);
    } else if (debit.amountMinor !== final.amountMinor || debit.tac !== final.tacHex) {
      this.fail('durable-debit', `T-Union final ${record.seq} (${name} ${key}) is not the `
        + `card's debit (${final.amountMinor} ${final.tacHex}, card ${debit.amountMinor} `
        + `${debit.tac})`);
    }
  }

  /** The card's first debit whose journal key is `key` (its number is the card's serial). */
  private debitOf(rider: TunionRiderCard, key: string): TunionDebit | undefined {
    let index = this.debitsByKey.get(rider);
    if (index === undefined) {
      index = { indexed: 0, byKey: new Map() };
      this.debitsByKey.set(rider, index);
    }
    const debits = rider.card.debits();
    const serial = rider.card.profile.applicationSerial;
    for (; index.indexed < debits.length; index.indexed += 1) {
      const debit = debits[index.indexed];
      if (debit === undefined) continue;
      const debitKey = tunionDebitKey(serial, debit.atc);
      if (!index.byKey.has(debitKey)) index.byKey.set(debitKey, debit);
    }
    return index.byKey.get(key);
  }

  /** A grey line the depot stored (its record may be reclaimed from the medium by now). */
  depotGrey(key: string, timeWallMs: unknown): void {
    if (typeof timeWallMs === 'number' && !this.greyWallMs.has(key)) {
      this.greyWallMs.set(key, timeWallMs);
    }
  }

  /** True when the card's newest debit has no final record (its tap was torn). */
  unfinished(card: TunionRiderCard): boolean {
    const debits = card.card.debits();
    const last = debits[debits.length - 1];
    return last !== undefined
      && !this.index.finished(tunionDebitKey(card.card.profile.applicationSerial, last.atc));
  }

  /** A tap begins: notes the card's newest debit when no final speaks for it yet. */
  tapBegins(card: AnyRiderCard): void {
    this.open = null;
    if (!isTunionRider(card)) return;
    const debits = card.card.debits();
    const last = debits[debits.length - 1];
    if (last === undefined) return;
    const key = tunionDebitKey(card.card.profile.applicationSerial, last.atc);
    const greyWallMs = this.greyWallMs.get(key);
    if (greyWallMs === undefined || !this.index.durable(key) || this.index.finished(key)) return;
    this.open = { card, key, debitsBefore: debits.length, greyWallMs };
  }

  /**
   * The tap ended (its records indexed): an approved tap of a card whose newest debit was torn
   * within the window (as the firmware sees it: no later than `wallMs`, the board's wall time
   * now) finished that debit, and did not debit the card again.
   */
  tapEnded(card: AnyRiderCard, report: TapReport | null, wallMs: number, windowMs: number): void {
    const open = this.open;
    this.open = null;
    const result = report?.result;
    if (open === null || open.card !== card || report === null
      || (result !== 'approved' && result !== 'alreadyPaid')) return;
    const sinceMs = Math.round(wallMs - open.greyWallMs);
    if (sinceMs >= windowMs) return;
    const where = `${card.name} ${open.key}`;
    if (result === 'alreadyPaid') {
      // Told it paid (a repeat on the same bus): the recovery that runs first must have
      // finished the torn debit, or its record never comes.
      if (!this.index.finished(open.key)) {
        this.fail('torn-recovered', `${where}: told already paid at the card's next tap, the `
          + `torn debit still has no final record (${report.reason})`);
      }
      return;
    }
    if (card.card.debits().length > open.debitsBefore) {
      this.fail('double-charge', `${where}: a torn debit was charged again at the card's next `
        + `tap, ${sinceMs} ms after its grey record, not recovered`);
    } else if (!this.index.finished(open.key) && !report.reason.startsWith(
      RECOVERED_NOT_JOURNALLED)) {
      this.fail('torn-recovered', `${where}: approved at the card's next tap, the torn debit `
        + `still has no final record (${report.reason})`);
    }
  }
}
