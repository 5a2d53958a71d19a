// A DisplayPort for a board without a screen: each screen becomes one JSON log line.

import { screenTexts, SCREEN_REGIONS } from '../../../hal/src/display/display_text.js';
import type { DisplayPort, DisplayScreen } from '../../../hal/src/ports/display_port.js';
import { halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { LogPort } from '../app/validator/validator_ports.js';

/**
 * Renders a screen to the same texts a DWIN display shows (hal display_text) and logs them as
 * `{"event":"screen","kind":...,"text":"请刷卡 / 票价 2.00 / L101"}`. Lets a bench board or a
 * headless pilot run show what a rider would read. Never fails.
 */
export class ConsoleDisplay implements DisplayPort {
  constructor(private readonly log: LogPort) {}

  /** Always ok: logging cannot fail from the validator's point of view. */
  show(screen: DisplayScreen): Promise<HalResult<void>> {
    const texts = screenTexts(screen);
    const text = SCREEN_REGIONS.map((region) => texts[region])
      .filter((t) => t !== '')
      .join(' / ');
    this.log.log({ event: 'screen', kind: screen.kind, text });
    return Promise.resolve(halOk(undefined));
  }
}
