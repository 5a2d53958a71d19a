// DisplayPort on a DWIN DGUS II serial HMI: each screen is text-variable writes plus a page switch.

import assert from 'node:assert/strict';
import type { DisplayPort, DisplayScreen } from '../ports/display_port.js';
import { halErr, halOk, HalStatus, type HalResult } from '../ports/hal_status.js';
import type { SerialLink } from '../ports/serial_link.js';
import { SCREEN_REGIONS, screenTexts, type ScreenRegion } from './display_text.js';
import {
  DWIN_VP_0084_PIC_SET,
  DWIN_WRITE_DATA_MAX_BYTES,
  dwinPageSwitchFrame,
  dwinTextValue,
  dwinWriteFrame,
  type DwinFrameOptions,
} from './dwin_frame.js';
import { gbkSupported } from './gbk_codec.js';

/**
 * The byte sink the driver writes frames to: the `write` half of a SerialLink. The real board
 * passes its SerialLink (NodeSerialLink on the display's UART); the simulator passes the DWIN
 * emulator directly or a SerialLinkSim whose far end the emulator is attached to. The display's
 * "OK" answers are not read: a lost write shows as a wrong screen, never as a stalled tap.
 * Link errors the driver expects: READER_IO, TIMEOUT, BUSY; any other code maps to READER_IO
 * (SerialLink's CANCELLED, a closed link, included).
 */
export type DwinLink = Pick<SerialLink, 'write'>;

/** Where a text region lives in the display's variable memory. */
export interface DwinTextRegion {
  /** Word address of the text display variable (control 0x11) bound to this region. */
  readonly vp: number;
  /** The control's Text_length in bytes (even). The last two hold the 0xFFFF end word. */
  readonly capacityBytes: number;
}

/**
 * The contract with the DGUS project flashed on the display: one page (background picture)
 * per screen kind and one text variable per region. Every page shows the same five text
 * controls; the page picture carries the colour (green approved, red declined...).
 */
export interface DwinLayout {
  readonly pages: Readonly<Record<DisplayScreen['kind'], number>>;
  readonly regions: Readonly<Record<ScreenRegion, DwinTextRegion>>;
}

/** Our reference DGUS project (host-sim's emulator project mirrors it; a test checks that). */
export const DWIN_LAYOUT_DEFAULT: DwinLayout = {
  pages: {
    idle: 1,
    processing: 2,
    approved: 3,
    declined: 4,
    tryAgain: 5,
    denyList: 6,
    alreadyPaid: 7,
    outOfService: 8,
    multipleCards: 9,
    admitted: 10,
    gate: 11,
  },
  regions: {
    title: { vp: 0x5000, capacityBytes: 64 },
    amount: { vp: 0x5020, capacityBytes: 64 },
    balance: { vp: 0x5040, capacityBytes: 64 },
    message: { vp: 0x5060, capacityBytes: 64 },
    footer: { vp: 0x5080, capacityBytes: 64 },
  },
};

/** Checks a layout once at construction: regions inside memory, word-sized, not overlapping. */
export function dwinLayoutAssertValid(layout: DwinLayout): void {
  const spans = SCREEN_REGIONS.map((name) => layout.regions[name]);
  for (const span of spans) {
    assert.ok(span.capacityBytes >= 2 && span.capacityBytes % 2 === 0, 'region capacity');
    assert.ok(span.capacityBytes <= DWIN_WRITE_DATA_MAX_BYTES, 'region must fit one frame');
    assert.ok(span.vp >= 0 && span.vp + span.capacityBytes / 2 <= 0x10000, 'region VP range');
    const pageSetWord = DWIN_VP_0084_PIC_SET;
    assert.ok(pageSetWord < span.vp || pageSetWord >= span.vp + span.capacityBytes / 2);
  }
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i];
      const b = spans[j];
      assert.ok(a !== undefined && b !== undefined);
      const apart = a.vp + a.capacityBytes / 2 <= b.vp || b.vp + b.capacityBytes / 2 <= a.vp;
      assert.ok(apart, `DWIN layout regions overlap at VP ${a.vp.toString(16)}`);
    }
  }
}

/**
 * Every byte one screen costs on the wire: one 0x82 write per region (empty regions too, so
 * nothing stale survives), then the page switch, so the page appears with its text in place.
 */
export function dwinScreenBytes(
  screen: DisplayScreen,
  layout: DwinLayout,
  options: DwinFrameOptions,
): Uint8Array {
  const regionTexts = screenTexts(screen);
  const frames: Uint8Array[] = [];
  let total = 0;
  for (const name of SCREEN_REGIONS) {
    const frame = dwinScreenTextFrame(layout.regions[name], regionTexts[name], options);
    frames.push(frame);
    total += frame.length;
  }
  const pageSwitch = dwinPageSwitchFrame(layout.pages[screen.kind], options);
  const bytes = new Uint8Array(total + pageSwitch.length);
  let at = 0;
  for (const frame of frames) {
    bytes.set(frame, at);
    at += frame.length;
  }
  bytes.set(pageSwitch, at);
  return bytes;
}

/**
 * Text frames already built, for one region and CRC setting, by text. Screens repeat (the
 * same titles, messages and footers tap after tap), and a frame depends on nothing else.
 * Bounded: when full, the oldest entry goes (amounts and balances make many one-off texts).
 * The frames never leave this module; each screen copies them into bytes of its own.
 */
interface DwinTextFrames {
  readonly vp: number;
  readonly capacityBytes: number;
  readonly byText: Map<string, Uint8Array>;
}

const TEXT_FRAMES_PER_REGION_MAX = 128;
/** Per region object (layouts are constants): the caches with CRC off [0] and on [1]. */
const textFramesOf = new WeakMap<DwinTextRegion, DwinTextFrames[]>();

/** The write frame of `text` in `region`, built once while it stays in its region's cache. */
function dwinScreenTextFrame(
  region: DwinTextRegion,
  text: string,
  options: DwinFrameOptions,
): Uint8Array {
  const cache = dwinScreenTextFrames(region, options.crc);
  const known = cache.byText.get(text);
  if (known !== undefined) return known;
  const frame = dwinWriteFrame(region.vp, dwinTextValue(text, region.capacityBytes).data, options);
  if (cache.byText.size >= TEXT_FRAMES_PER_REGION_MAX) {
    const oldest = cache.byText.keys().next();
    if (oldest.done !== true) cache.byText.delete(oldest.value);
  }
  cache.byText.set(text, frame);
  return frame;
}

/** The cache of `region` and `crc`: a new one when the region object changed since. */
function dwinScreenTextFrames(region: DwinTextRegion, crc: boolean): DwinTextFrames {
  let caches = textFramesOf.get(region);
  if (caches === undefined) {
    caches = [];
    textFramesOf.set(region, caches);
  }
  const slot = crc ? 1 : 0;
  const found = caches[slot];
  if (found?.vp === region.vp && found.capacityBytes === region.capacityBytes) return found;
  const fresh = { vp: region.vp, capacityBytes: region.capacityBytes, byText: new Map() };
  caches[slot] = fresh;
  return fresh;
}

export interface DwinDisplayOptions {
  readonly layout: DwinLayout;
  /** Must match the CRC setting in the display's project config (DWIN default: off). */
  readonly crc: boolean;
}

/**
 * True when `a` and `b` say the same: the same fields with the same values, those of a nested
 * object (an approved ride's `transit`) compared the same way, one level down.
 */
function dwinScreensSame(a: object, b: object, nested: boolean): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const x: unknown = Reflect.get(a, key);
    const y: unknown = Reflect.get(b, key);
    if (x === y) continue;
    const objects = typeof x === 'object' && typeof y === 'object' && x !== null && y !== null;
    if (!objects || nested || !dwinScreensSame(x, y, true)) return false;
  }
  return true;
}

/** A DWIN DGUS II display (T5L family) behind any byte link. */
export class DwinDisplay implements DisplayPort {
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The last screen of each kind and its bytes. A validator shows the same few screens over
   * and over (idle after every tap, "already paid", a decline's reason): a screen saying what
   * the last one of its kind said is the same bytes, written again without being rebuilt.
   * The screen is kept as a copy, so a caller changing its object later changes nothing here;
   * the bytes are never changed once built (links copy what they alter, serial_link_sim.ts).
   * The layout is the one the constructor checked: a display's layout is not edited after.
   */
  private readonly shownByKind = new Map<DisplayScreen['kind'],
    { readonly screen: DisplayScreen; readonly bytes: Uint8Array }>();

  constructor(
    private readonly link: DwinLink,
    private readonly options: DwinDisplayOptions,
  ) {
    dwinLayoutAssertValid(options.layout);
  }

  /**
   * See DisplayPort.show. Writes all frames of the screen in one link write; calls are queued
   * so two screens never interleave on the wire.
   *
   * Errors: READER_IO, TIMEOUT, BUSY (from the link; other link codes become READER_IO),
   * NOT_SUPPORTED (no GBK support in this Node build).
   */
  show(screen: DisplayScreen): Promise<HalResult<void>> {
    const run = async (): Promise<HalResult<void>> => {
      if (!gbkSupported()) return halErr(HalStatus.NOT_SUPPORTED, 'no GBK decoder in this Node');
      return showRemapLinkResult(await this.link.write(this.screenBytes(screen)));
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** dwinScreenBytes of `screen` under this display's layout and CRC (see shownByKind). */
  private screenBytes(screen: DisplayScreen): Uint8Array {
    const shown = this.shownByKind.get(screen.kind);
    if (shown !== undefined && dwinScreensSame(shown.screen, screen, false)) return shown.bytes;
    const bytes = dwinScreenBytes(screen, this.options.layout, { crc: this.options.crc });
    const copy: DisplayScreen = screen.kind === 'approved' && screen.transit !== undefined
      ? { ...screen, transit: { ...screen.transit } }
      : { ...screen };
    this.shownByKind.set(screen.kind, { screen: copy, bytes });
    return bytes;
  }
}

/** The link's codes that keep their meaning at the display boundary; the rest are I/O faults. */
function showRemapLinkResult(result: HalResult<void>): HalResult<void> {
  if (result.ok) return halOk(undefined);
  switch (result.error) {
    case HalStatus.READER_IO:
    case HalStatus.TIMEOUT:
    case HalStatus.BUSY:
      return result;
    case HalStatus.TRANSMISSION:
    case HalStatus.PROTOCOL:
    case HalStatus.CARD_GONE:
    case HalStatus.CANCELLED:
    case HalStatus.SIZE:
    case HalStatus.NOT_SUPPORTED:
      return halErr(HalStatus.READER_IO, `display link: ${result.error}: ${result.detail}`);
    default: {
      const unreachable: never = result.error;
      return unreachable;
    }
  }
}
