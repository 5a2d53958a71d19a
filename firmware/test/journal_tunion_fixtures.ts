// T-Union journal entries for the journal tests: a grey record and its final, a block.

import type {
  TunionBlockedEntry, TunionBlockOutcome, TunionFinalEntry, TunionGreyEntry,
} from '../src/app/journal/journal_tunion.js';

/** The grey and final records of one compound purchase of card `n` (ATC `atc`). */
export function tunionEntries(n: number, atc: number, greySeq: number | null)
  : [TunionGreyEntry, TunionFinalEntry] {
  const card = {
    issuerIdHex: '01011000FFFFFFFF',
    serialDigits: `0310517007${n.toString().padStart(10, '0')}`,
    cityCodeHex: '5840',
    uidHex: 'A1B2C3D4',
  };
  const purchase = {
    transactionType: 0x09, atc, amountMinor: 300, balanceBeforeMinor: 5000,
    terminalNumberHex: '112233445566', terminalSerial: 40 + n, dateTimeDigits: '20261203083000',
  };
  const ride = {
    tap: 'alighting' as const, lineId: 'B12', lineCode: 12, boardingStop: 3, alightingStop: 8,
    fareMinor: 400, discountMinor: 100, penaltyMinor: 0,
  };
  return [
    { kind: 'tunion_grey', card, purchase, ride, kernelRecordHex: '4A01'.padEnd(186, '0') },
    {
      kind: 'tunion_final', greySeq, card, purchase, ride, balanceAfterMinor: 4700,
      tacHex: '55667788', terminalId: 'BUS00001', paramsVersion: 3, mac2Verified: true,
    },
  ];
}

/**
 * The block record of deny-listed card `n`: `outcome`, the card's answer `swHex`, and the
 * pending record it completes (`pendingSeq`, null for a pending record or a block not sent).
 */
export function tunionBlockedEntry(n: number, outcome: TunionBlockOutcome, swHex: string,
  pendingSeq: number | null = null): TunionBlockedEntry {
  return {
    kind: 'tunion_blocked',
    card: {
      issuerIdHex: '01011000FFFFFFFF',
      serialDigits: `0310517007${n.toString().padStart(10, '0')}`,
      cityCodeHex: '5840',
      uidHex: n % 2 === 0 ? '' : 'A1B2C3D4',
    },
    dateTimeDigits: '20261203083000', terminalNumberHex: '112233445566',
    terminalId: 'BUS00001', lineId: 'B12', paramsVersion: 3 + n,
    blockOutcome: outcome, blockSwHex: swHex, pendingSeq,
  };
}

/**
 * One block record of each outcome (card numbers from `n`): the finals of a command sent name
 * a pending record (seq `n`, as records of a real journal would), the pending one names none.
 */
export function tunionBlockedEntries(n: number): TunionBlockedEntry[] {
  return [
    tunionBlockedEntry(n, 'blocked', '9000', n),
    tunionBlockedEntry(n + 1, 'not-confirmed', '', n + 1),
    tunionBlockedEntry(n + 2, 'not-confirmed', '6988', n + 2),
    tunionBlockedEntry(n + 3, 'not-sent', ''),
    tunionBlockedEntry(n + 4, 'pending', ''),
  ];
}
