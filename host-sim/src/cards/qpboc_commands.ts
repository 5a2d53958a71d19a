// SELECT, READ RECORD and GET DATA on the card's persistent and per-presentation state.

import { berTlv, bytesEqual, toBcd } from '../pki/emv_bytes.js';
import {
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A82_FILE_NOT_FOUND,
  SW_6A83_RECORD_NOT_FOUND,
  SW_6A86_WRONG_P1P2,
  SW_6A88_DATA_NOT_FOUND,
  answerWithLe,
  statusOnly,
} from './card_apdu.js';
import type { CommandApdu } from './card_apdu.js';
import { PPSE_NAME } from './card_personalise.js';
import type { PersonalisedApp, PersonalisedCard } from './card_personalise.js';
import type { CommandCost } from './card_timing.js';
import { recordKey } from './emv_card_records.js';
import * as T from './emv_card_tags.js';
import type { TxnSnapshot } from './qpboc_gpo.js';
import type { FullFlowSession } from './pboc_full_flow.js';

/** SELECT P1 04: select by DF name; P2 00 first occurrence, 02 next occurrence. */
export const SELECT_P1_04_BY_NAME = 0x04;
export const SELECT_P2_00_FIRST = 0x00;
export const SELECT_P2_02_NEXT = 0x02;
/** READ RECORD P2 low bits 100: P1 is a record number. */
export const READ_RECORD_P2_REF_04 = 0x04;

/** Persistent state of one application (survives leaving the field). */
export interface AppState {
  readonly app: PersonalisedApp;
  atc: number;
  lastOnlineAtc: number;
  balanceMinor: number | null;
  /** CTTA of a card with cumulative offline limits, else null. */
  cumulativeMinor: number | null;
  /** Transaction log, newest first. */
  log: Uint8Array[];
  /** Balance and log before a debit applied at GPO and not confirmed yet ('gpo-with-rollback'). */
  rollback: { readonly balanceMinor: number; readonly log: readonly Uint8Array[] } | null;
  /** The latest qPBOC transaction (pending or committed), kept for GPO-less re-reads. */
  txn: TxnSnapshot | null;
}

/** Volatile state of one presentation. */
export interface SessionState {
  /** Index of the selected application, 'ppse', or null. */
  selected: number | 'ppse' | null;
  gpoThisSession: boolean;
  /** The full-flow transaction of this presentation, or null. */
  fullFlow: FullFlowSession | null;
}

/** A command's answer and what it cost (response size is added by the caller). */
export interface CommandResult {
  readonly response: Uint8Array;
  readonly cost: Omit<CommandCost, 'responseBytes'>;
}

/**
 * SELECT by name: the PPSE, or an application by full or partial AID.
 * Answers 6A86 (P1 not 04, P2 not 00/02) or 6A82 (no such name; the selection is unchanged).
 */
export function selectByName(
  card: PersonalisedCard,
  session: SessionState,
  command: CommandApdu,
): CommandResult {
  const cost = { kind: 'select', rsaBits: [], committed: false } as const;
  const fail = (sw: number): CommandResult => ({ response: statusOnly(sw), cost });
  if (command.p1 !== SELECT_P1_04_BY_NAME) return fail(SW_6A86_WRONG_P1P2);
  if (command.p2 !== SELECT_P2_00_FIRST && command.p2 !== SELECT_P2_02_NEXT) {
    return fail(SW_6A86_WRONG_P1P2);
  }
  const name = command.data;
  if (bytesEqual(name, PPSE_NAME)) {
    session.selected = 'ppse';
    session.gpoThisSession = false;
    session.fullFlow = null;
    return { response: answerWithLe(command, card.ppseFci), cost };
  }
  const matches: number[] = [];
  card.apps.forEach((app, i) => {
    if (name.length > 0 && bytesEqual(app.aid.subarray(0, name.length), name)) matches.push(i);
  });
  const current = typeof session.selected === 'number' ? session.selected : -1;
  const index = command.p2 === SELECT_P2_02_NEXT ? matches.find((i) => i > current) : matches[0];
  const app = index === undefined ? undefined : card.apps[index];
  if (index === undefined || app === undefined) return fail(SW_6A82_FILE_NOT_FOUND);
  session.selected = index;
  session.gpoThisSession = false;
  session.fullFlow = null;
  return { response: answerWithLe(command, app.fci), cost };
}

/**
 * READ RECORD. Dynamic records come from the latest transaction's frozen copy, so a re-read
 * after a tear returns the same bytes. Reading the last AFL record commits a staged debit once
 * (`commit` applies it; it is a no-op when already committed).
 * Answers 6985 (no application selected, or a dynamic record without a transaction that
 * returned an AFL), 6A86 (P1 = 0, P2 not a record reference, SFI 0), 6A82 (unknown SFI, also
 * under the PPSE), 6A83 (unknown record in a known SFI, or beyond the log's last entry).
 */
export function readRecord(
  state: AppState | null,
  session: SessionState,
  command: CommandApdu,
  commit: (state: AppState) => void,
): CommandResult {
  const cost = { kind: 'read-record', rsaBits: [], committed: false } as const;
  const fail = (sw: number): CommandResult => ({ response: statusOnly(sw), cost });
  const sfi = command.p2 >> 3;
  if (command.p1 === 0 || (command.p2 & 0x07) !== READ_RECORD_P2_REF_04 || sfi === 0) {
    return fail(SW_6A86_WRONG_P1P2);
  }
  if (state === null) {
    const underPpse = session.selected === 'ppse';
    return fail(underPpse ? SW_6A82_FILE_NOT_FOUND : SW_6985_CONDITIONS_NOT_SATISFIED);
  }
  const log = state.app.profile.log;
  if (log !== null && sfi === log.sfi) {
    const entry = state.log[command.p1 - 1];
    return entry === undefined
      ? fail(SW_6A83_RECORD_NOT_FOUND)
      : { response: answerWithLe(command, entry), cost };
  }
  const key = recordKey(sfi, command.p1);
  const record = state.app.records.get(key);
  if (record === undefined) {
    const knownSfi = [...state.app.records.values()].some((r) => r.profile.sfi === sfi);
    return fail(knownSfi ? SW_6A83_RECORD_NOT_FOUND : SW_6A82_FILE_NOT_FOUND);
  }
  const txn = state.txn;
  const frozen = txn !== null && txn.withRecords ? txn.dynamicRecords.get(key) : undefined;
  const bytes = record.staticBytes ?? frozen;
  if (bytes === undefined) return fail(SW_6985_CONDITIONS_NOT_SATISFIED);
  const commits =
    txn !== null &&
    txn.withRecords &&
    !txn.committed &&
    txn.debit !== null &&
    key === state.app.afl.lastRecordKey;
  if (commits) commit(state);
  return { response: answerWithLe(command, bytes), cost: { ...cost, committed: commits } };
}

/**
 * GET DATA for 9F79, 9F36, 9F13, 9F4F, 9F77, 9F78, 9F6D, 9F51, 9F54.
 * Answers 6985 (no application selected) or 6A88 (other tag, or EC/log data the card lacks).
 */
export function getData(state: AppState | null, command: CommandApdu): CommandResult {
  const cost = { kind: 'get-data', rsaBits: [], committed: false } as const;
  if (state === null) return { response: statusOnly(SW_6985_CONDITIONS_NOT_SATISFIED), cost };
  const tag = (command.p1 << 8) | command.p2;
  const value = getDataValue(state, tag);
  if (value === null) return { response: statusOnly(SW_6A88_DATA_NOT_FOUND), cost };
  return { response: answerWithLe(command, berTlv(tag, value)), cost };
}

function getDataValue(state: AppState, tag: number): Uint8Array | null {
  const data = state.app.data;
  switch (tag) {
    case T.TAG_9F79_EC_BALANCE:
      return state.balanceMinor === null ? null : toBcd(state.balanceMinor, 6);
    case T.TAG_9F36_ATC:
      return Uint8Array.of(state.atc >> 8, state.atc & 0xff);
    case T.TAG_9F13_LAST_ONLINE_ATC:
      return Uint8Array.of(state.lastOnlineAtc >> 8, state.lastOnlineAtc & 0xff);
    case T.TAG_9F4F_LOG_FORMAT:
    case T.TAG_9F77_EC_BALANCE_LIMIT:
    case T.TAG_9F78_EC_SINGLE_LIMIT:
    case T.TAG_9F6D_EC_RESET_THRESHOLD:
    case T.TAG_9F51_APP_CURRENCY:
    case T.TAG_9F54_CTTAL:
      return data.get(tag) ?? null;
    default:
      return null;
  }
}
