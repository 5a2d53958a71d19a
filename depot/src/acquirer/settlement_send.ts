// Settlement sending: every pending message row to the acquirer (same STAN on every retry,
// across restarts) and its answer applied once, in one transaction with its taps and debts.

import type { DepotDb, DepotRow } from '../store/depot_db.js';
import { DataKeyError } from '../store/pan_vault.js';
import { Iso8583Error } from './iso8583_error.js';
import { ACQUIRER_MTI, acquirerRequestMessage, type AcquirerRequestKind } from
  './acquirer_messages.js';
import { AcquirerLinkError, type AcquirerLink } from './acquirer_link.js';
import type { Iso8583Message } from './iso8583_codec.js';
import type { SettlementOptions } from './settlement_options.js';

/**
 * Field 39 codes that mean "try again later", no decision on the card: 91 issuer or switch
 * inoperative, 92 no route, 96 system malfunction, 68 answer too late, 90 cut-off in progress.
 */
const RC_TRANSIENT = new Set(['68', '90', '91', '92', '96']);
/**
 * 30: the acquirer could not read our message. No decision on the card either (declined, it
 * opened a debt and a deny entry for riders the acquirer never refused), and a retry with the
 * same STAN and field 7 gets the same answer: the row stays pending and is named for the
 * operator. A reversal answered 30 is refused as before (refund by hand).
 */
const RC_FORMAT_ERROR = '30';
/** A decision is two digits; anything else (absent, letters) is an answer that does not read. */
const RC_DECISION = /^[0-9]{2}$/;
/**
 * Fields of a request (processing code, amount, field 7, STAN, terminal) its answer must echo
 * unchanged when it carries them, and the PAN when the answer gives it whole (acquirers may
 * mask it): an answer matched by STAN alone applied another tap's verdict (an acquirer off by
 * one STAN) or an approval of another amount or terminal.
 */
const ECHOED_FIELDS = [3, 4, 7, 11, 41] as const;
const RC_APPROVED = '00';
const RC_DUPLICATE = '94';

/** What a sending pass did. */
export interface SendResult {
  readonly answered: number;
  readonly approved: number;
  /** Authorisations and advices the issuer refused (each opens or adds to a debt). */
  readonly declined: number;
  /** Advices answered `94`: the TC was presented before (no debt, the tap `duplicate`). */
  readonly duplicates: number;
  /** Debt recoveries approved, and refused (the debt stays open for the next presentment). */
  readonly recovered: number;
  readonly recoveriesDeclined: number;
  /** Reversals (0400) the acquirer approved: the voided fare given back. */
  readonly reversed: number;
  /**
   * Reversals the acquirer answered with a refusal (`25` original not found, `12`, `30`...):
   * the rider is still charged for a voided tap; the operator refunds by hand.
   */
  readonly reversalsRefused: number;
  /** Rows still pending: the link failed or the answer was transient. */
  readonly unanswered: number;
  /**
   * Rows whose request could not be built (left pending, the others sent): a sealed PAN that
   * does not open under the data key, a stored value the message refuses.
   */
  readonly unreadable: number;
  /** A sealed PAN did not open: the depot directory's data key is not the one that sealed. */
  readonly keyFailed: boolean;
  /** Why rows went unanswered or unread (the first of each), for the operator; null: none. */
  readonly problem: string | null;
}

const num = (row: DepotRow, name: string): number => Number(row[name] ?? 0);

/**
 * The stored PSN (two hex digits of the 5F34 byte) as field 23's number. 5F34 is n2 (EMV 4.4
 * Book 3, Annex A): a valid byte's hex digits are its decimal digits ("12" is 12); a byte that
 * is not BCD ("0A") has no field 23 rather than a wrong one. Empty (no 5F34): PSN 0.
 */
function psnOfStored(psn: string): number | null {
  if (psn === '') return 0;
  return /^[0-9]{2}$/.test(psn) ? Number(psn) : null;
}
const text = (row: DepotRow, name: string): string => String(row[name] ?? '');

/** The STAN of a message row: its id, six digits (unique per 10^6 rows, stable on retry). */
export function stanOf(messageId: number): string {
  return String(messageId % 1_000_000).padStart(6, '0');
}

/**
 * Sends pending rows in id order, `options.window` at a time; reversals only once their
 * original is answered. Rejects with DepotStoreError when the database fails; a link
 * failure leaves the row pending (counted in `unanswered`) for the next pass.
 */
export async function settlementSend(
  db: DepotDb,
  link: AcquirerLink,
  options: SettlementOptions,
): Promise<SendResult> {
  const rows = await db.query(
    `SELECT m.id, m.tap_id, m.aggregate_key, m.mti, m.amount_minor, m.sent_at_ms,
       t.pan_sealed, t.psn,
       t.icc_data_hex, t.terminal_id, t.transaction_date, t.transaction_time
     FROM acquirer_messages m JOIN taps t ON t.id = m.tap_id
     WHERE m.state = 'pending' ORDER BY m.id`);
  const counts = { answered: 0, approved: 0, declined: 0, duplicates: 0, recovered: 0,
    recoveriesDeclined: 0, reversed: 0, reversalsRefused: 0, unanswered: 0, unreadable: 0,
    keyFailed: false };
  const problems: SendProblems = { link: null, unreadable: null, answer: null };
  for (let at = 0; at < rows.length; at += options.window) {
    const slice = rows.slice(at, at + options.window);
    const outcomes = await Promise.all(slice.map((row) =>
      sendOne(db, link, row, options, problems)));
    for (const outcome of outcomes) {
      if (outcome === 'unreadable') counts.unreadable += 1;
      else if (outcome === 'unanswered') counts.unanswered += 1;
      else counts.answered += 1;
      const counted = OUTCOME_COUNT[outcome];
      if (counted !== undefined) counts[counted] += 1;
    }
  }
  counts.keyFailed = problems.unreadable?.startsWith(KEY_PROBLEM) ?? false;
  const problem = [problems.unreadable, problems.answer, problems.link]
    .filter((p) => p !== null).join('; ');
  return { ...counts, problem: problem === '' ? null : problem };
}

/** The first problem of each kind a pass met. */
interface SendProblems {
  link: string | null;
  unreadable: string | null;
  /** An answer that is no decision on the card (see sendOne). */
  answer: string | null;
}

const KEY_PROBLEM = 'a sealed PAN does not open';

type Outcome = 'approved' | 'declined' | 'duplicate' | 'recovered' | 'recovery-declined'
  | 'reversed' | 'reversal-refused' | 'other' | 'unanswered' | 'unreadable';

type Counted = 'approved' | 'declined' | 'duplicates' | 'recovered' | 'recoveriesDeclined'
  | 'reversed' | 'reversalsRefused';

const OUTCOME_COUNT: Partial<Record<Outcome, Counted>> = {
  approved: 'approved',
  declined: 'declined',
  duplicate: 'duplicates',
  recovered: 'recovered',
  'recovery-declined': 'recoveriesDeclined',
  reversed: 'reversed',
  'reversal-refused': 'reversalsRefused',
};

async function sendOne(
  db: DepotDb,
  link: AcquirerLink,
  row: DepotRow,
  options: SettlementOptions,
  problems: SendProblems,
): Promise<Outcome> {
  const id = num(row, 'id');
  const stan = stanOf(id);
  const sentMs = firstSentMs(row, options);
  // A row that cannot be made a message (its PAN does not open, a value the message
  // refuses) stays pending and the others go: it crashed every settle, with a stack trace,
  // at the same row, and nothing after it was ever sent.
  const built = async (at: number): Promise<Iso8583Message | 'wait' | 'skip' | null> => {
    try {
      return await requestOf(db, row, { stan, sentMs: at }, options);
    } catch (error) {
      if (!(error instanceof DataKeyError) && !(error instanceof Iso8583Error)) throw error;
      problems.unreadable ??= unreadableProblem(row, error);
      return null;
    }
  };
  let request = await built(sentMs);
  if (request === null) return 'unreadable';
  if (request === 'skip') return 'other';
  if (request === 'wait') return 'unanswered';
  const stored = await claimFirstSent(db, row, stan, sentMs);
  if (stored !== sentMs) {
    // Another settle on this database sent it first: the same field 7, so the acquirer
    // takes it as that message's retry. Its own time made it a second authorisation.
    request = await built(stored);
    if (request === null) return 'unreadable';
    if (typeof request === 'string') return 'unanswered';
  }
  let answer: Iso8583Message;
  try {
    answer = await link.request(request);
  } catch (error) {
    if (error instanceof Iso8583Error) {
      // Refused by the encoder before anything went out (an amount below 0, say).
      problems.unreadable ??= unreadableProblem(row, error);
      return 'unreadable';
    }
    if (!(error instanceof AcquirerLinkError)) throw error;
    problems.link ??= error.message;
    return 'unanswered';
  }
  const code = String(answer.fields.get(39) ?? '');
  if (RC_TRANSIENT.has(code)) return 'unanswered';
  const stuck = noDecision(text(row, 'mti'), request, answer, code);
  if (stuck !== null) {
    problems.answer ??= `the answer to message row ${id} (tap ${num(row, 'tap_id')}) ${stuck}: `
      + 'no decision on the card, left pending';
    return 'unanswered';
  }
  const applied = await db.transaction((tx) => applyAnswer(tx, row, answer, options));
  if (!applied) return 'other';
  const mti = text(row, 'mti');
  if (mti === ACQUIRER_MTI.reversal) return code === RC_APPROVED ? 'reversed' : 'reversal-refused';
  if (mti === ACQUIRER_MTI.recovery) {
    return code === RC_APPROVED ? 'recovered' : 'recovery-declined';
  }
  if (code === RC_DUPLICATE && mti === ACQUIRER_MTI.advice) return 'duplicate';
  return code === RC_APPROVED ? 'approved' : 'declined';
}

/** Why `row` could not be made a message (its PAN does not open, a value it refuses). */
function unreadableProblem(row: DepotRow, error: DataKeyError | Iso8583Error): string {
  const what = error instanceof DataKeyError ? KEY_PROBLEM : 'a stored value does not make a '
    + 'message';
  return `${what}: message row ${num(row, 'id')} (tap ${num(row, 'tap_id')}): ${error.message}; `
    + 'left pending';
}

/**
 * Stamps the row's STAN and first send time unless a send stamped it already (this run's
 * earlier try, or another settle running at once); returns the time stored.
 */
async function claimFirstSent(db: DepotDb, row: DepotRow, stan: string, sentMs: number)
  : Promise<number> {
  const id = num(row, 'id');
  const claimed = await db.run(
    'UPDATE acquirer_messages SET stan = $1, sent_at_ms = $2 WHERE id = $3 AND sent_at_ms IS NULL',
    [stan, sentMs, id]);
  if (claimed > 0) return sentMs;
  const found = await db.query('SELECT sent_at_ms FROM acquirer_messages WHERE id = $1', [id]);
  const first = found[0]?.['sent_at_ms'];
  return first === null || first === undefined ? sentMs : Number(first);
}

/**
 * Why an answer that is not transient is still no decision on the card (it does not echo the
 * request, its field 39 does not read, or 30 to anything but a reversal), or null.
 */
function noDecision(mti: string, request: Iso8583Message, answer: Iso8583Message,
  code: string): string | null {
  const unlike = unechoed(request, answer);
  if (unlike !== null) return `does not echo ${unlike}`;
  if (!RC_DECISION.test(code)) return `has no readable field 39 ('${code}')`;
  return code === RC_FORMAT_ERROR && mti !== ACQUIRER_MTI.reversal ? 'is 30, format error'
    : null;
}

/** The first field the answer gives otherwise than the request (ECHOED_FIELDS), or null. */
function unechoed(request: Iso8583Message, answer: Iso8583Message): string | null {
  const pan = answer.fields.get(2);
  const fields = pan !== undefined && /^[0-9]+$/.test(String(pan))
    ? [2, ...ECHOED_FIELDS] : ECHOED_FIELDS;
  for (const field of fields) {
    const sent = request.fields.get(field);
    const back = answer.fields.get(field);
    if (sent !== undefined && back !== undefined && String(sent) !== String(back)) {
      return `field ${field}`;
    }
  }
  return null;
}

const KIND_OF_MTI: Readonly<Record<string, AcquirerRequestKind>> = {
  [ACQUIRER_MTI.authorisation]: 'authorisation',
  [ACQUIRER_MTI.advice]: 'advice',
  [ACQUIRER_MTI.recovery]: 'recovery',
  [ACQUIRER_MTI.reversal]: 'reversal',
};

/**
 * When a row was first sent (now for a new one): its field 7 on every retry, in this run or a
 * later one, so the acquirer knows a retry from a new message that reuses the STAN.
 */
function firstSentMs(row: DepotRow, options: SettlementOptions): number {
  const sent = row['sent_at_ms'];
  return sent === null || sent === undefined ? options.nowMs() : Number(sent);
}

/** The request of a row; `wait` for a reversal whose original is pending, `skip` if moot. */
async function requestOf(
  db: DepotDb,
  row: DepotRow,
  sending: { readonly stan: string; readonly sentMs: number },
  options: SettlementOptions,
): Promise<Iso8583Message | 'wait' | 'skip'> {
  const kind = KIND_OF_MTI[text(row, 'mti')];
  if (kind === undefined) throw new Error(`message row ${num(row, 'id')}: MTI ${text(row, 'mti')}`);
  let original: { mti: string; stan: string; transmissionMs: number } | undefined;
  if (kind === 'reversal') {
    const originalId = Number(text(row, 'aggregate_key').replace(/^rev:/, ''));
    const found = await db.query(
      'SELECT mti, state, response_code, sent_at_ms FROM acquirer_messages WHERE id = $1',
      [originalId]);
    const first = found[0];
    if (first === undefined || text(first, 'state') === 'pending') return 'wait';
    if (text(first, 'response_code') !== RC_APPROVED) {
      await db.run("UPDATE acquirer_messages SET state = 'skipped' WHERE id = $1",
        [num(row, 'id')]);
      return 'skip';
    }
    original = { mti: text(first, 'mti'), stan: stanOf(originalId),
      transmissionMs: num(first, 'sent_at_ms') };
  }
  const date = text(row, 'transaction_date');
  return acquirerRequestMessage({
    kind,
    pan: options.unsealPan(text(row, 'pan_sealed')),
    psn: psnOfStored(text(row, 'psn')),
    amountMinor: num(row, 'amount_minor'),
    stan: sending.stan,
    terminalId: text(row, 'terminal_id'),
    iccData: Uint8Array.from(Buffer.from(text(row, 'icc_data_hex'), 'hex')),
    transmissionMs: sending.sentMs,
    tapDate: date,
    tapTime: text(row, 'transaction_time'),
    expiryYymm: null,
    batch: options.batch,
    ...(original === undefined ? {} : { original }),
  });
}

/** Records the answer and its effects; false when another pass already applied it. */
async function applyAnswer(
  db: DepotDb,
  row: DepotRow,
  answer: Iso8583Message,
  options: SettlementOptions,
): Promise<boolean> {
  const id = num(row, 'id');
  const code = String(answer.fields.get(39) ?? '');
  const now = options.nowMs();
  const changed = await db.run(
    `UPDATE acquirer_messages SET state = 'answered', response_code = $1, rrn = $2,
       answered_at_ms = $3 WHERE id = $4 AND state = 'pending'`,
    [code, String(answer.fields.get(37) ?? ''), now, id]);
  if (changed === 0) return false;
  const mti = text(row, 'mti');
  const key = text(row, 'aggregate_key');
  if (mti === ACQUIRER_MTI.recovery) {
    if (code === RC_APPROVED) {
      await debtRecovered(db, Number(key.replace(/^debt:/, '')), num(row, 'amount_minor'), now);
    }
    return true;
  }
  if (mti === ACQUIRER_MTI.reversal) return true;
  const tapIds = key.startsWith('day:')
    ? (key.split(':')[2] ?? '').split(',').map(Number)
    : [num(row, 'tap_id')];
  const state = code === RC_APPROVED
    ? (mti === ACQUIRER_MTI.advice ? 'cleared' : 'authorised')
    : code === RC_DUPLICATE && mti === ACQUIRER_MTI.advice ? 'duplicate' : 'declined';
  // A tap voided while its message was out is no longer `sent` and stays voided.
  const answered: number[] = [];
  for (const tapId of tapIds) {
    const changed = await db.run(
      "UPDATE taps SET state = $1 WHERE id = $2 AND state = 'sent'", [state, tapId]);
    if (changed > 0) answered.push(tapId);
  }
  if (state === 'declined' && answered.length > 0) await debtOpen(db, row, answered, code, now);
  return true;
}

/**
 * A decline: the card owes the fares of `tapIds` (the message's taps not voided meanwhile: a
 * voided fare is owed by nobody) and goes on the deny list until it is repaid.
 */
async function debtOpen(
  db: DepotDb,
  row: DepotRow,
  tapIds: readonly number[],
  code: string,
  now: number,
): Promise<void> {
  const taps = await db.query(
    `SELECT id, pan_token, psn, amount_minor FROM taps WHERE id IN (${
      tapIds.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY id`, [...tapIds]);
  const tap = taps[0];
  if (tap === undefined) throw new Error(`message ${num(row, 'id')}: tap missing`);
  await debtAdd(db, {
    panToken: text(tap, 'pan_token'), psn: text(tap, 'psn'),
    amountMinor: taps.reduce((sum, t) => sum + num(t, 'amount_minor'), 0),
    tapId: num(tap, 'id'), reason: `issuer declined ${code}`,
  }, now);
}

/** A declined amount owed by a card (PAN token, PSN as stored: '' when none). */
export interface DebtAddition {
  readonly panToken: string;
  readonly psn: string;
  readonly amountMinor: number;
  /** The declined tap (the debt keeps its first tap: recovery presents that tap's ICC data). */
  readonly tapId: number;
  readonly reason: string;
}

/**
 * Adds `debt` to the card's one open debt, opening it (with its deny entry) when the card has
 * none. One statement decides: the partial unique index `debts_open_card` (migration 2) makes
 * a concurrent second insert of the same card wait for the first and then add to it, so two
 * declines answered at once never open two debts. Resolves with the debt's id. Rejects with
 * DepotStoreError.
 */
export async function debtAdd(db: DepotDb, debt: DebtAddition, now: number): Promise<number> {
  const rows = await db.query(
    `INSERT INTO debts (pan_token, psn, amount_minor, tap_id, state, opened_at_ms)
     VALUES ($1, $2, $3, $4, 'open', $5)
     ON CONFLICT (pan_token, psn) WHERE state = 'open'
     DO UPDATE SET amount_minor = debts.amount_minor + excluded.amount_minor
     RETURNING id`,
    [debt.panToken, debt.psn, debt.amountMinor, debt.tapId, now]);
  const debtId = num(rows[0] ?? {}, 'id');
  // Read after the insert: a concurrent opener of this card has committed by now (the insert
  // waited for it), so its entry is seen and no second one is added.
  await db.run(
    `INSERT INTO deny_entries (pan_token, psn, reason, debt_id, added_at_ms)
     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM deny_entries
       WHERE debt_id = $4 AND removed_at_ms IS NULL)`,
    [debt.panToken, debt.psn, debt.reason, debtId, now]);
  return debtId;
}

/**
 * A debt recovery approved for `amountMinor`: that much is taken off the debt, which closes
 * when nothing is left (a decline added while the recovery was in flight stays owed).
 */
async function debtRecovered(db: DepotDb, debtId: number, amountMinor: number, now: number):
  Promise<void> {
  const debt = (await db.query(
    "SELECT amount_minor FROM debts WHERE id = $1 AND state = 'open'", [debtId]))[0];
  if (debt === undefined) return;
  if (num(debt, 'amount_minor') <= amountMinor) {
    await debtRepaid(db, debtId, now);
    return;
  }
  await db.run('UPDATE debts SET amount_minor = amount_minor - $1 WHERE id = $2',
    [amountMinor, debtId]);
}

/** A debt paid (recovery approved, or at a counter): closed, its deny entries removed. */
export async function debtRepaid(db: DepotDb, debtId: number, now: number): Promise<boolean> {
  const changed = await db.run(
    "UPDATE debts SET state = 'repaid', repaid_at_ms = $1 WHERE id = $2 AND state = 'open'",
    [now, debtId]);
  await db.run(
    'UPDATE deny_entries SET removed_at_ms = $1 WHERE debt_id = $2 AND removed_at_ms IS NULL',
    [now, debtId]);
  return changed > 0;
}
