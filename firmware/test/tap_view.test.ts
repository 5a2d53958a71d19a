// What a rider sees and hears: every kernel reason has its own screen, every case its own beep.
//
// The truth is the list of cases (余额不足, 卡片已过期, 黑名单卡, 请使用其他卡 / 不支持此卡,
// 卡片认证失败 only on a real authentication failure, 请重刷, card data inconsistent, an admission
// that never says it debited) rendered through the real DWIN wording and the real beep table.

import { describe, expect, it } from 'vitest';
import { QPBOC_REASONS, type QpbocReasonName } from '../../assembly/host/qpboc_session.js';
import { INDICATOR_PATTERNS_DEFAULT } from '../../hal/src/buzzer/indicator_patterns.js';
import { screenTexts } from '../../hal/src/display/display_text.js';
import type { DisplayScreen } from '../../hal/src/ports/display_port.js';
import {
  TAP_CASE_OUTPUT,
  TAP_VIEW_BY_REASON,
  viewAdmitted,
  viewApproved,
  viewDeclined,
  type TapCase,
} from '../src/app/validator/tap_view.js';

const REASONS = Object.values(QPBOC_REASONS) as QpbocReasonName[];

function text(screen: DisplayScreen): string {
  return Object.values(screenTexts(screen))
    .filter((t) => t !== '')
    .join(' / ');
}

describe('tap view', () => {
  it('everyKernelReason_hasARow', () => {
    expect(REASONS.length).toBeGreaterThan(20);
    for (const reason of REASONS) {
      expect(TAP_VIEW_BY_REASON[reason], reason).toBeDefined();
      expect(() => viewDeclined(reason), reason).not.toThrow();
    }
  });

  it('everyRefusalReason_endsOnAScreenOfItsOwn', () => {
    const seen = new Map<string, QpbocReasonName>();
    for (const reason of REASONS) {
      const view = viewDeclined(reason);
      if (view.screen.kind !== 'declined') continue;
      const shown = text(view.screen);
      expect(seen.get(shown), `${reason} shows ${shown}`).toBeUndefined();
      seen.set(shown, reason);
    }
    expect(seen.size).toBeGreaterThan(15);
  });

  it('everyCase_hasItsOwnBeepAndItsOwnWording', () => {
    const cases = Object.keys(TAP_CASE_OUTPUT) as TapCase[];
    const patterns = new Set(
      cases.map((c) => JSON.stringify(INDICATOR_PATTERNS_DEFAULT[TAP_CASE_OUTPUT[c].signal])),
    );
    expect(patterns.size).toBe(cases.length);
    // One wording belongs to one case only: no message means two different things.
    const caseOfMessage = new Map<string, TapCase>();
    for (const reason of REASONS) {
      const tapCase = TAP_VIEW_BY_REASON[reason].tapCase;
      const view = viewDeclined(reason);
      if (view.screen.kind !== 'declined' || tapCase === 'paid' || tapCase === 'admitted') continue;
      const message = screenTexts(view.screen).message;
      const owner = caseOfMessage.get(message);
      if (owner !== undefined) expect(owner, `${reason}: ${message}`).toBe(tapCase);
      caseOfMessage.set(message, tapCase);
    }
    expect(caseOfMessage.size).toBeGreaterThanOrEqual(6);
  });

  it('eachCase_saysWhatTheIssueAsks', () => {
    const says = (reason: QpbocReasonName): string => text(viewDeclined(reason).screen);
    expect(says('insufficient-ecash')).toContain('余额不足');
    expect(says('kind-not-accepted')).toContain('请使用其他卡');
    expect(says('ecash-balance-invalid')).not.toMatch(/余额 *[0-9]/);
    expect(says('expired')).toContain('卡片已过期');
    expect(says('deny-list')).toContain('黑名单卡');
    expect(says('online-required')).toContain('不支持此卡');
    expect(says('use-another-interface')).toContain('请使用其他卡');
    expect(says('no-accepted-app')).toContain('不支持此卡');
    expect(says('link-lost')).toContain('请重刷');
    expect(says('card-data-inconsistent')).toContain('卡片数据异常');
    expect(says('oda-failed')).toContain('卡片认证失败');
    expect(viewDeclined('deny-list').signal).toBe('denyList');
    expect(viewDeclined('expired').signal).toBe('expired');
    expect(viewDeclined('kind-not-accepted').result).toBe('notAccepted');
    expect(viewDeclined('insufficient-ecash').signal).toBe('insufficientBalance');
  });

  it('authenticationFailed_isShownOnlyWhenAuthenticationFailed', () => {
    const shown = REASONS.filter((r) => says(r).includes('卡片认证失败'));
    expect(shown).toEqual(['oda-failed']);
    function says(reason: QpbocReasonName): string {
      return text(viewDeclined(reason).screen);
    }
  });

  it('admission_acceptsTheFareAndNeverSaysItDebited', () => {
    const admitted = viewAdmitted(200);
    expect(text(admitted.screen)).toBe('交易成功 / 票价 2.00元 / 稍后扣款');
    expect(text(admitted.screen)).not.toMatch(/扣款 *[0-9]/);
    expect(admitted.result).toBe('admitted');
    expect(admitted.signal).toBe('admitted');
    const paid = viewApproved(200, 38_300);
    expect(text(paid.screen)).toBe('交易成功 / 扣款 2.00元 / 余额 383.00元');
    expect(paid.signal).not.toBe(admitted.signal);
  });
});
