// DWIN display driver: exact wire bytes, and every screen as the emulator renders it.

import { describe, expect, it } from 'vitest';
import {
  DWIN_PROJECT_SIM_DEFAULT,
  DwinDisplaySim,
} from '../../../host-sim/src/display_sim/dwin_display_sim.js';
import { ClockSim } from '../../../host-sim/src/clock_sim.js';
import { Prng } from '../../../host-sim/src/prng.js';
import { createSerialLinkPairSim } from '../../../host-sim/src/serial_link_sim.js';
import { formatYuan } from '../../src/display/display_text.js';
import {
  DWIN_LAYOUT_DEFAULT,
  DwinDisplay,
  dwinScreenBytes,
  type DwinLayout,
  type DwinLink,
} from '../../src/display/dwin_display.js';
import type { DeclineReason, DisplayScreen } from '../../src/ports/display_port.js';
import { DISPLAY_SCREEN_KINDS } from '../../src/ports/display_port.js';
import { halOk, HalStatus, type HalResult } from '../../src/ports/hal_status.js';

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

function displayOn(sim: DwinDisplaySim, crc = false): DwinDisplay {
  return new DwinDisplay(sim, { layout: DWIN_LAYOUT_DEFAULT, crc });
}

async function shown(screen: DisplayScreen): Promise<DwinDisplaySim> {
  const sim = new DwinDisplaySim();
  const result = await displayOn(sim).show(screen);
  expect(result).toEqual(halOk(undefined));
  expect(sim.errors).toEqual([]);
  return sim;
}

describe('DwinDisplay wire bytes', () => {
  it('show_multipleCards_writesEachRegionThenSwitchesPage', async () => {
    const writes: Uint8Array[] = [];
    const linkMock: DwinLink = {
      write: (bytes) => {
        writes.push(Uint8Array.from(bytes));
        return Promise.resolve(halOk(undefined));
      },
    };
    const display = new DwinDisplay(linkMock, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
    expect(await display.show({ kind: 'multipleCards' })).toEqual(halOk(undefined));
    expect(writes.length).toBe(1);
    const expected = [
      '5a a5 09 82 50 00 b6 e0 bf a8 ff ff', // title 多卡
      '5a a5 05 82 50 20 ff ff', // amount: empty
      '5a a5 05 82 50 40 ff ff', // balance: empty
      '5a a5 0f 82 50 60 c7 eb b5 a5 d5 c5 cb a2 bf a8 ff ff', // message 请单张刷卡
      '5a a5 05 82 50 80 ff ff', // footer: empty
      '5a a5 07 82 00 84 5a 01 00 09', // page 9
    ].join(' ');
    expect(hex(writes[0] ?? new Uint8Array())).toBe(expected);
  });
});

describe('DwinDisplay repeated screens', () => {
  function recorded(): { display: DwinDisplay; writes: string[] } {
    const writes: string[] = [];
    const link: DwinLink = {
      write: (bytes) => {
        writes.push(hex(bytes));
        return Promise.resolve(halOk(undefined));
      },
    };
    return { display: new DwinDisplay(link, { layout: DWIN_LAYOUT_DEFAULT, crc: false }), writes };
  }
  const fresh = (screen: DisplayScreen): string =>
    hex(dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: false }));

  it('show_eachScreenAfterAnother_writesWhatDwinScreenBytesBuilds', async () => {
    const { display, writes } = recorded();
    const ride = { tap: 'boarding', stop: 3, penaltyMinor: 0 } as const;
    const screens: DisplayScreen[] = [
      { kind: 'idle', fareMinor: 200, lineName: '1路' },
      { kind: 'approved', amountMinor: 200, balanceMinor: 800, transit: ride },
      { kind: 'idle', fareMinor: 200, lineName: '1路' },
      { kind: 'approved', amountMinor: 200, balanceMinor: 800, transit: ride },
      { kind: 'approved', amountMinor: 200, balanceMinor: 800, transit: { ...ride, stop: 4 } },
      { kind: 'approved', amountMinor: 200, balanceMinor: 800 },
      { kind: 'idle', fareMinor: 200, lineName: null },
      { kind: 'declined', reason: 'CARD_EXPIRED' },
      { kind: 'declined', reason: 'CARD_EXPIRED', detailCode: 3 },
      { kind: 'declined', reason: 'CARD_EXPIRED' },
    ];
    for (const screen of screens) await display.show(screen);
    expect(writes).toEqual(screens.map(fresh));
  });

  it('show_screenObjectChangedAfterItWasShown_showsTheNewText', async () => {
    const { display, writes } = recorded();
    const screen = { kind: 'idle' as const, fareMinor: 200, lineName: 'A' as string | null };
    await display.show(screen);
    screen.fareMinor = 300;
    await display.show(screen);
    expect(writes[1]).toBe(fresh({ kind: 'idle', fareMinor: 300, lineName: 'A' }));
  });
});

describe('dwinScreenBytes with repeated texts', () => {
  // The same texts come back screen after screen; each screen must still carry exactly the
  // bytes of its own region, CRC setting and capacity, and its own copy of them.
  const narrow: DwinLayout = {
    ...DWIN_LAYOUT_DEFAULT,
    regions: { ...DWIN_LAYOUT_DEFAULT.regions, title: { vp: 0x5000, capacityBytes: 4 } },
  };

  it('dwinScreenBytes_sameTextElsewhere_writesItForThatRegionAndSetting', () => {
    const screen: DisplayScreen = { kind: 'multipleCards' };
    const plain = dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: false });
    const again = dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: false });
    expect(again).toEqual(plain);
    expect(again).not.toBe(plain);
    again.fill(0);
    expect(hex(dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: false }))).toBe(hex(plain));
    // Title 多卡 cut to 多 in a 4-byte variable at the same VP, then the end word.
    const cut = dwinScreenBytes(screen, narrow, { crc: false });
    expect(hex(cut.subarray(0, 10))).toBe('5a a5 07 82 50 00 b6 e0 ff ff');
    // With CRC-16/MODBUS over 82 50 00 b6 e0 bf a8 ff ff, low byte first.
    const crc = dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: true });
    expect(hex(crc.subarray(0, 14))).toBe('5a a5 0b 82 50 00 b6 e0 bf a8 ff ff 49 6e');
  });

  it('dwinScreenBytes_regionEditedInPlace_writesToItsNewPlace', () => {
    // TypeScript says readonly; plain JavaScript may still edit a layout it built.
    const title = { vp: 0x5000, capacityBytes: 64 };
    const layout: DwinLayout = {
      ...DWIN_LAYOUT_DEFAULT,
      regions: { ...DWIN_LAYOUT_DEFAULT.regions, title },
    };
    const screen: DisplayScreen = { kind: 'multipleCards' };
    expect(hex(dwinScreenBytes(screen, layout, { crc: false }).subarray(0, 6))).toBe(
      '5a a5 09 82 50 00',
    );
    title.vp = 0x5100;
    title.capacityBytes = 4;
    expect(hex(dwinScreenBytes(screen, layout, { crc: false }).subarray(0, 10))).toBe(
      '5a a5 07 82 51 00 b6 e0 ff ff',
    );
  });

  it('dwinScreenBytes_afterManyOneOffTexts_stillWritesEachExactly', () => {
    const screenOf = (fareMinor: number): DisplayScreen => ({
      kind: 'idle',
      fareMinor,
      lineName: '1路',
    });
    const first = hex(dwinScreenBytes(screenOf(200), DWIN_LAYOUT_DEFAULT, { crc: false }));
    for (let fare = 1; fare <= 2000; fare += 1) {
      const bytes = dwinScreenBytes(screenOf(fare), DWIN_LAYOUT_DEFAULT, { crc: false });
      const sim = new DwinDisplaySim();
      sim.write(bytes);
      expect(sim.snapshot().texts['amount']).toBe(`票价 ${formatYuan(fare)}元`);
    }
    expect(hex(dwinScreenBytes(screenOf(200), DWIN_LAYOUT_DEFAULT, { crc: false }))).toBe(first);
  });
});

describe('DwinDisplay on the emulator', () => {
  it('layout_matchesTheEmulatedProject', () => {
    for (const variable of DWIN_PROJECT_SIM_DEFAULT.textVariables) {
      const region = DWIN_LAYOUT_DEFAULT.regions[variable.name as 'title'];
      expect(region, variable.name).toEqual({
        vp: variable.vp,
        capacityBytes: variable.capacityBytes,
      });
    }
    for (const kind of DISPLAY_SCREEN_KINDS) {
      const page = DWIN_PROJECT_SIM_DEFAULT.pages.find((p) => p.name === kind);
      expect(page?.id, kind).toBe(DWIN_LAYOUT_DEFAULT.pages[kind]);
    }
  });

  it('idle_showsFareAndLineName', async () => {
    const sim = await shown({ kind: 'idle', fareMinor: 200, lineName: '1路' });
    expect(sim.snapshot()).toEqual({
      pageId: 1,
      pageName: 'idle',
      texts: { title: '请刷卡', amount: '票价 2.00元', balance: '', message: '', footer: '1路' },
    });
  });

  it('approved_showsAmountAndBalanceInYuan', async () => {
    const sim = await shown({ kind: 'approved', amountMinor: 150, balanceMinor: 38_787 });
    const shot = sim.snapshot();
    expect(shot.pageName).toBe('approved');
    expect(shot.texts).toEqual({
      title: '交易成功',
      amount: '扣款 1.50元',
      balance: '余额 387.87元',
      message: '',
      footer: '',
    });
  });

  it('approved_whenNoBalance_leavesBalanceEmpty', async () => {
    const sim = await shown({ kind: 'approved', amountMinor: 200, balanceMinor: null });
    expect(sim.snapshot().texts['balance']).toBe('');
  });

  it('declined_showsReasonTextAndCode', async () => {
    const expected: Record<DeclineReason, [string, string]> = {
      INSUFFICIENT_BALANCE: ['余额不足', '代码 01'],
      CARD_EXPIRED: ['卡片已过期', '代码 02'],
      CARD_NOT_EFFECTIVE: ['卡片未启用', '代码 03'],
      CARD_NOT_SUPPORTED: ['不支持此卡', '代码 04'],
      AUTHENTICATION_FAILED: ['卡片认证失败', '代码 05'],
      CARD_DECLINED: ['卡片拒绝交易', '代码 06'],
      USE_OTHER_CARD: ['请使用其他卡', '代码 07'],
      CARD_BLOCKED: ['卡片已锁定', '代码 08'],
      AMOUNT_LIMIT_EXCEEDED: ['超出交易限额', '代码 09'],
      CARD_DATA_INCONSISTENT: ['卡片数据异常', '代码 10'],
    };
    for (const [reason, [message, footer]] of Object.entries(expected)) {
      const sim = await shown({ kind: 'declined', reason: reason as DeclineReason });
      expect(sim.snapshot(), reason).toEqual({
        pageId: 4,
        pageName: 'declined',
        texts: { title: '交易失败', amount: '', balance: '', message, footer },
      });
    }
  });

  it('declined_withDetailCode_appendsItToTheReasonCode', async () => {
    const sim = await shown({ kind: 'declined', reason: 'AUTHENTICATION_FAILED', detailCode: 12 });
    expect(sim.snapshot().texts['footer']).toBe('代码 05-12');
  });

  it('admitted_saysTheFareIsAcceptedAndNeverThatItWasDebited', async () => {
    const shot = (await shown({ kind: 'admitted', amountMinor: 200 })).snapshot();
    expect(shot).toEqual({
      pageId: 10,
      pageName: 'admitted',
      texts: {
        title: '交易成功',
        amount: '票价 2.00元',
        balance: '',
        message: '稍后扣款',
        footer: '',
      },
    });
    expect(Object.values(shot.texts).join('/')).not.toMatch(/扣款 *[0-9]/);
  });

  it('fixedScreens_showTheirTitles', async () => {
    const titles: [DisplayScreen, string, string, string][] = [
      [{ kind: 'processing' }, 'processing', '正在读卡', '请勿移开卡片'],
      [{ kind: 'tryAgain' }, 'tryAgain', '请重刷', '读卡中断 请重新刷卡'],
      [{ kind: 'denyList' }, 'denyList', '黑名单卡', '此卡已被禁止使用'],
      [{ kind: 'alreadyPaid' }, 'alreadyPaid', '已刷卡', '请勿重复刷卡'],
      [{ kind: 'outOfService' }, 'outOfService', '暂停服务', '请使用其他设备'],
      [{ kind: 'multipleCards' }, 'multipleCards', '多卡', '请单张刷卡'],
    ];
    for (const [screen, pageName, title, message] of titles) {
      const shot = (await shown(screen)).snapshot();
      expect(shot.pageName).toBe(pageName);
      expect(shot.texts['title']).toBe(title);
      expect(shot.texts['message']).toBe(message);
    }
  });

  it('shorterScreenAfterLongerOne_leavesNoStaleText', async () => {
    const sim = new DwinDisplaySim();
    const display = displayOn(sim);
    await display.show({ kind: 'approved', amountMinor: 123_456, balanceMinor: 999_999 });
    await display.show({ kind: 'tryAgain' });
    expect(sim.snapshot().texts).toEqual({
      title: '请重刷',
      amount: '',
      balance: '',
      message: '读卡中断 请重新刷卡',
      footer: '',
    });
    expect(sim.errors).toEqual([]);
  });

  it('tooLongLineName_isCutToTheField', async () => {
    const sim = await shown({ kind: 'idle', fareMinor: 100, lineName: '长'.repeat(40) });
    expect(sim.snapshot().texts['footer']).toBe('长'.repeat(31));
  });

  it('concurrentShows_areAppliedInCallOrderWithoutInterleaving', async () => {
    const sim = new DwinDisplaySim();
    const display = displayOn(sim);
    const first = display.show({ kind: 'processing' });
    const second = display.show({ kind: 'denyList' });
    expect(await first).toEqual(halOk(undefined));
    expect(await second).toEqual(halOk(undefined));
    expect(sim.snapshot().pageName).toBe('denyList');
    expect(sim.frames.length).toBe(12);
    expect(sim.errors).toEqual([]);
  });

  it('crcOn_bothSides_showsTheScreen', async () => {
    const sim = new DwinDisplaySim({ ...DWIN_PROJECT_SIM_DEFAULT, crc: true });
    await displayOn(sim, true).show({ kind: 'alreadyPaid' });
    expect(sim.snapshot().texts['title']).toBe('已刷卡');
    expect(sim.errors).toEqual([]);
  });

  it('crcMismatchBetweenDriverAndProject_showsNothing', async () => {
    const sim = new DwinDisplaySim({ ...DWIN_PROJECT_SIM_DEFAULT, crc: true });
    await displayOn(sim, false).show({ kind: 'alreadyPaid' });
    expect(sim.snapshot().pageName).toBe('boot');
    expect(sim.errors.length).toBeGreaterThan(0);
  });

  it('linkFault_isReportedAndForeignCodesBecomeReaderIo', async () => {
    const sim = new DwinDisplaySim();
    const display = displayOn(sim);
    sim.injectWriteFault(HalStatus.TIMEOUT);
    const timedOut: HalResult<void> = await display.show({ kind: 'processing' });
    expect(timedOut.ok ? null : timedOut.error).toBe(HalStatus.TIMEOUT);
    sim.injectWriteFault(HalStatus.PROTOCOL);
    const io = await display.show({ kind: 'processing' });
    expect(io.ok ? null : io.error).toBe(HalStatus.READER_IO);
    expect(await display.show({ kind: 'processing' })).toEqual(halOk(undefined));
  });
});

describe('DwinDisplay over a simulated 115200 baud UART', () => {
  it('show_resolvesAfterTheWireTimeAndTheDisplayAnswersOkPerFrame', async () => {
    const clock = new ClockSim(0);
    const line = createSerialLinkPairSim(clock, {
      baudRate: 115_200,
      pace: true,
      chunkBytes: 16,
      hostToDeviceFaults: undefined,
      deviceToHostFaults: undefined,
    });
    const sim = new DwinDisplaySim();
    sim.attach(line.device);
    const display = new DwinDisplay(line.host, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
    let result: HalResult<void> | null = null;
    void display.show({ kind: 'approved', amountMinor: 200, balanceMinor: 9_800 }).then((r) => {
      result = r;
    });
    while (result === null && (await clock.step()));
    expect(result).toEqual(halOk(undefined));
    const sentBytes = line.stats('host-to-device').bytes;
    // 8N1 is 10 bit-times per byte: the screen occupies the line for bytes * 10 / 115200 s.
    expect(clock.nowMs()).toBeGreaterThanOrEqual(Math.floor((sentBytes * 10_000) / 115_200));
    expect(clock.nowMs()).toBeLessThan(20);
    while (await clock.step());
    expect(sim.snapshot().texts['balance']).toBe('余额 98.00元');
    expect(hex(line.sent('device-to-host'))).toBe(Array(6).fill('5a a5 03 82 4f 4b').join(' '));
    expect(sim.errors).toEqual([]);
  });
});

describe('formatYuan', () => {
  it('edgeAmounts_haveTwoDecimals', () => {
    expect([0, 1, 5, 10, 99, 100, 101, 38_787].map(formatYuan)).toEqual([
      '0.00',
      '0.01',
      '0.05',
      '0.10',
      '0.99',
      '1.00',
      '1.01',
      '387.87',
    ]);
  });

  it('randomAmounts_matchBigIntDivision', () => {
    const seed = 0x5eed_0004;
    const prng = new Prng(seed);
    for (let i = 0; i < 2_000; i++) {
      const amountMinor = prng.nextU32() * 2 ** 21 + (prng.nextU32() >>> 11);
      const big = BigInt(amountMinor);
      const expected = `${big / 100n}.${(big % 100n).toString().padStart(2, '0')}`;
      expect(formatYuan(amountMinor), `seed ${seed} amount ${amountMinor}`).toBe(expected);
    }
  });

  it('negativeOrFractionalAmount_isAProgrammerError', () => {
    expect(() => formatYuan(-1)).toThrow();
    expect(() => formatYuan(1.5)).toThrow();
  });
});

describe('DwinDisplay gate screens', () => {
  it('dayFull_showsTheClearFullScreenOnTheGatePage', async () => {
    const sim = await shown({ kind: 'gate', message: 'dayFull', persons: 0 });
    expect(sim.snapshot()).toEqual({
      pageId: 11,
      pageName: 'gate',
      texts: {
        title: '今日已满',
        amount: '',
        balance: '',
        message: '景区限流 今日入园人数已满',
        footer: '剩余 0',
      },
    });
  });

  it('admit_showsThePartyStillToPass', async () => {
    const sim = await shown({ kind: 'gate', message: 'admit', persons: 3 });
    expect(sim.snapshot().texts['footer']).toBe('待通行 3 人');
  });
});
