// Screen wording: what each semantic screen says, in Chinese, region by region (pure).

import assert from 'node:assert/strict';
import type {
  DeclineReason, DisplayScreen, GateMessage, TransitScreen,
} from '../ports/display_port.js';

/**
 * The text regions every screen layout has. A layout maps each region to a place on the display
 * (a DWIN VP address, a Nextion component); unused regions are shown empty.
 */
export type ScreenRegion = 'title' | 'amount' | 'balance' | 'message' | 'footer';

export const SCREEN_REGIONS: readonly ScreenRegion[] = [
  'title',
  'amount',
  'balance',
  'message',
  'footer',
];

export type ScreenTexts = Readonly<Record<ScreenRegion, string>>;

/**
 * Decline wording and the two-digit code shown beside it, so a rider can read the code to
 * the operator's hotline. Codes are stable: never renumber, only append.
 */
export interface DeclineReasonText {
  readonly code: number;
  readonly text: string;
}

export const DECLINE_REASON_TEXT: Readonly<Record<DeclineReason, DeclineReasonText>> = {
  INSUFFICIENT_BALANCE: { code: 1, text: '余额不足' },
  CARD_EXPIRED: { code: 2, text: '卡片已过期' },
  CARD_NOT_EFFECTIVE: { code: 3, text: '卡片未启用' },
  CARD_NOT_SUPPORTED: { code: 4, text: '不支持此卡' },
  AUTHENTICATION_FAILED: { code: 5, text: '卡片认证失败' },
  CARD_DECLINED: { code: 6, text: '卡片拒绝交易' },
  USE_OTHER_CARD: { code: 7, text: '请使用其他卡' },
  CARD_BLOCKED: { code: 8, text: '卡片已锁定' },
  AMOUNT_LIMIT_EXCEEDED: { code: 9, text: '超出交易限额' },
  CARD_DATA_INCONSISTENT: { code: 10, text: '卡片数据异常' },
};

/**
 * Formats integer minor units (fen) as yuan with exactly two decimals, e.g. 205 -> "2.05".
 * Integer arithmetic only: no floating-point rounding can shift a fen.
 * A negative or non-integer amount is a programmer error (AssertionError).
 */
export function formatYuan(amountMinor: number): string {
  assert.ok(Number.isSafeInteger(amountMinor), `amountMinor must be an integer: ${amountMinor}`);
  assert.ok(amountMinor >= 0, `amountMinor must not be negative: ${amountMinor}`);
  const yuan = Math.floor(amountMinor / 100);
  const fen = amountMinor % 100;
  return `${yuan}.${fen < 10 ? '0' : ''}${fen}`;
}

/** A code as at least two digits ("05"); a negative or fractional code is a programmer error. */
function twoDigits(code: number): string {
  assert.ok(Number.isSafeInteger(code) && code >= 0, `code must be a natural number: ${code}`);
  return code.toString().padStart(2, '0');
}

/** A gate's title and message (scenic-area wording), with the party or places count. */
const GATE_TEXT: Readonly<Record<GateMessage, readonly [string, string]>> = {
  admit: ['请通行', '欢迎光临'],
  exit: ['请出园', '欢迎再来'],
  dayFull: ['今日已满', '景区限流 今日入园人数已满'],
  slotFull: ['本时段已满', '请预约其他时段'],
  passback: ['已入园', '此卡已入园 不可重复进入'],
  ticketExpired: ['门票已过期', '请到售票处咨询'],
  ticketNotYet: ['未到入园日期', '请按预约日期入园'],
  wrongSlot: ['非预约时段', '请按预约时段入园'],
  closed: ['非开放时间', '请在开放时间入园'],
  noTicket: ['无有效门票', '请到售票处购票'],
  tailgating: ['尾随报警', '请一人一次通行'],
  laneFault: ['通道暂停', '请使用其他通道'],
  laneFaultKept: ['通道暂停', '入园已保留 请联系工作人员'],
};

function gateTexts(message: GateMessage, persons: number | null): ScreenTexts {
  const [title, text] = GATE_TEXT[message];
  const count = persons === null ? '' : message === 'admit' ? `待通行 ${persons} 人`
    : `剩余 ${persons}`;
  return texts({ title, message: text, footer: count });
}

/** A money line: label, amount, and "元" (GBK has no U+00A5 yen sign, so we write the unit). */
function money(label: string, amountMinor: number): string {
  return `${label} ${formatYuan(amountMinor)}元`;
}

function texts(partial: Partial<Record<ScreenRegion, string>>): ScreenTexts {
  return {
    title: partial.title ?? '',
    amount: partial.amount ?? '',
    balance: partial.balance ?? '',
    message: partial.message ?? '',
    footer: partial.footer ?? '',
  };
}

/** The title of an approved tap: 上车成功 / 下车成功 for a tap-in/tap-out ride. */
function transitTitle(transit: TransitScreen | undefined): string {
  if (transit === undefined || transit.tap === 'flat') return '交易成功';
  return transit.tap === 'boarding' ? '上车成功' : '下车成功';
}

/** The stop of a tap-in/tap-out ride, and the 补票 of a ride never tapped out. */
function transitMessage(transit: TransitScreen | undefined): string {
  if (transit === undefined) return '';
  const stop = transit.stop === 0 ? '' : `${transit.tap === 'alighting' ? '下车' : '上车'}站 ${
    transit.stop}`;
  const penalty = transit.penaltyMinor > 0 ? money('补票', transit.penaltyMinor) : '';
  return [stop, penalty].filter((t) => t !== '').join(' ');
}

/** What `screen` says in each region. Every region is present (empty when unused). */
export function screenTexts(screen: DisplayScreen): ScreenTexts {
  switch (screen.kind) {
    case 'idle':
      return texts({
        title: '请刷卡',
        amount: money('票价', screen.fareMinor),
        footer: screen.lineName ?? '',
      });
    case 'processing':
      return texts({ title: '正在读卡', message: '请勿移开卡片' });
    case 'approved':
      return texts({
        title: transitTitle(screen.transit),
        amount: money('扣款', screen.amountMinor),
        balance: screen.balanceMinor === null ? '' : money('余额', screen.balanceMinor),
        message: transitMessage(screen.transit),
      });
    case 'admitted':
      // Nothing was debited: the fare is accepted and the money moves after authorisation.
      return texts({
        title: '交易成功',
        amount: money('票价', screen.amountMinor),
        message: '稍后扣款',
      });
    case 'declined': {
      const reason = DECLINE_REASON_TEXT[screen.reason];
      const detail = screen.detailCode === undefined ? '' : `-${twoDigits(screen.detailCode)}`;
      return texts({
        title: '交易失败',
        message: reason.text,
        footer: `代码 ${twoDigits(reason.code)}${detail}`,
      });
    }
    case 'tryAgain':
      return texts({ title: '请重刷', message: '读卡中断 请重新刷卡' });
    case 'denyList':
      return texts({ title: '黑名单卡', message: '此卡已被禁止使用' });
    case 'alreadyPaid':
      return texts({ title: '已刷卡', message: '请勿重复刷卡' });
    case 'outOfService':
      return texts({ title: '暂停服务', message: '请使用其他设备' });
    case 'multipleCards':
      return texts({ title: '多卡', message: '请单张刷卡' });
    case 'gate':
      return gateTexts(screen.message, screen.persons);
    default: {
      const unreachable: never = screen;
      return unreachable;
    }
  }
}
