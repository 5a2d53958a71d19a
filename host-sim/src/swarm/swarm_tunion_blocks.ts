// The swarm's check of T-Union blocks (`tunion-block`): a deny-listed card the validator met
// and blocked (APPLICATION BLOCK, domain.md 7.6) has a durable block record, whatever the
// power did. The truth is each deny-listed card twin's own state (blocked: its SELECT answers
// 6283 from then on, so its next taps write nothing and its first block's record is the only
// one the issuer ever gets).
//
// Checked, on the medium and at the depot (a record reclaimed once acknowledged is there):
// a card blocked has a pending or blocked record of its number (firmware journal README,
// T-Union block records: the pending record is durable before the command goes); a record
// says blocked only of a card that is; a final naming a pending record names one of the same
// card before it. SwarmModel checks the rest as for any record: committed records survive
// cuts byte for byte, and reach the depot as the journal exports them (`uploaded`).

import { Buffer } from 'node:buffer';

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalPayloadDecode } from '../../../firmware/src/app/journal/journal_records.js';
import {
  TUNION_BLOCK_OUTCOMES,
  type TunionBlockOutcome,
} from '../../../firmware/src/app/journal/journal_tunion.js';
import type { TunionRiderCard } from '../sim/bus_riders.js';
import type { SwarmRecord } from './swarm_journal.js';
import type { SwarmCheck } from './swarm_options.js';

/** What the check needs of one block record. */
interface BlockFacts {
  readonly serial: string;
  readonly outcome: TunionBlockOutcome;
  readonly pendingSeq: number | null;
}

/** Where a block record was found: the medium (rebuilt at each full scan) or the depot. */
type BlockPlace = 'medium' | 'depot';

export class SwarmTunionBlocks {
  private readonly bySerial = new Map<string, TunionRiderCard>();
  private readonly records: Record<BlockPlace, Map<number, BlockFacts>> = {
    medium: new Map(), depot: new Map(),
  };
  /** Card numbers with a pending or blocked record, per place. */
  private readonly recorded: Record<BlockPlace, Set<string>> = {
    medium: new Set(), depot: new Set(),
  };

  constructor(
    denied: readonly TunionRiderCard[],
    private readonly fail: (check: SwarmCheck, message: string) => void,
  ) {
    for (const card of denied) this.bySerial.set(card.card.profile.applicationSerial, card);
  }

  /** A full scan follows: the medium's records are indexed again from it. */
  mediumReset(): void {
    this.records.medium.clear();
    this.recorded.medium.clear();
  }

  /** A durable record on the medium (the follower's or a full scan's), oldest first. */
  mediumRecord(record: SwarmRecord): void {
    if (record.kind !== 'tunion_blocked') return;
    const payload = Buffer.from(record.payload, 'latin1');
    // The scan or the follower found it valid: it decodes.
    const { entry } = journalPayloadDecode(record.kind, payload, JOURNAL_FILE_NAME);
    if (entry.kind !== 'tunion_blocked') return;
    this.add('medium', record.seq, {
      serial: entry.card.serialDigits, outcome: entry.blockOutcome, pendingSeq: entry.pendingSeq,
    });
  }

  /** A line the depot stored (it never loses one). */
  depotLine(seq: number, line: Readonly<Record<string, unknown>>): void {
    if (line['type'] !== 'tunion_blocked') return;
    const card = line['card'] as Record<string, unknown> | undefined;
    const serial = card?.['serialDigits'];
    const outcome = TUNION_BLOCK_OUTCOMES.find((o) => o === line['blockOutcome']);
    const pendingSeq = line['pendingSeq'] ?? null;
    if (typeof serial !== 'string' || outcome === undefined
      || !(pendingSeq === null || typeof pendingSeq === 'number')) {
      this.fail('uploaded', `the depot's block line ${seq} does not read as a block`);
      return;
    }
    this.add('depot', seq, { serial, outcome, pendingSeq });
  }

  /** Every deny-listed card blocked so far has a durable record of its block. */
  checkCards(): void {
    for (const card of this.bySerial.values()) this.checkCard(card);
  }

  /** A deny-listed card blocked has a pending or blocked record (medium or depot). */
  checkCard(card: TunionRiderCard): void {
    const serial = card.card.profile.applicationSerial;
    if (!card.card.blocked() || !this.bySerial.has(serial)) return;
    if (this.recorded.medium.has(serial) || this.recorded.depot.has(serial)) return;
    this.fail('tunion-block', `${card.name} ${serial} was blocked by the validator and no `
      + `block record of it is durable (medium or depot)`);
  }

  private add(place: BlockPlace, seq: number, facts: BlockFacts): void {
    if (this.records[place].has(seq)) return;
    this.records[place].set(seq, facts);
    if (facts.outcome === 'pending' || facts.outcome === 'blocked') {
      this.recorded[place].add(facts.serial);
    }
    const card = this.bySerial.get(facts.serial);
    if (facts.outcome === 'blocked' && card !== undefined && !card.card.blocked()) {
      this.fail('tunion-block', `block record ${seq} (${place}) says ${facts.serial} is `
        + `blocked; the card is not`);
    }
    const named = facts.pendingSeq;
    if (named === null) return;
    const pending = this.records.medium.get(named) ?? this.records.depot.get(named);
    if (named >= seq || pending?.outcome !== 'pending' || pending.serial !== facts.serial) {
      this.fail('tunion-block', `final block record ${seq} (${place}) names ${named}, which `
        + `is no pending block record of ${facts.serial} before it`);
    }
  }
}
