// One gate site's shared state: the lanes of one gate controller (entry and exit lanes on one
// validator process) decide on one day, one ticket book and one ledger, so anti-passback and
// capacity hold across lanes: a card inside cannot enter on another lane, and an exit on the
// exit lane re-arms a re-entry ticket on every entry lane.

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { GateLedger } from './gate_ledger.js';
import type { GateTicketBook } from './gate_rules.js';
import type { GateDay } from './gate_state.js';

/** A queue: each `run` starts after every earlier one settled. */
export class GateSerial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** The state every lane of a site shares; lanes get the same instance (GatePorts.site). */
export class GateSite {
  day: GateDay | null = null;
  book: GateTicketBook | null = null;
  readonly ledger: GateLedger;
  /** Card sessions: the kernel and the journal take one card at a time. */
  readonly sessions = new GateSerial();
  /** Ledger appends: one line at a time, in the order decided. */
  readonly appends = new GateSerial();
  /** Loading a day (and answering a cut sale) happens once for every lane. */
  readonly days = new GateSerial();

  constructor(storage: StoragePort) {
    this.ledger = new GateLedger(storage);
  }
}
