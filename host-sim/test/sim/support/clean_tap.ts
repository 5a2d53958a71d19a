// Sizes a clean tap: how many commands a card of the pool gets when nothing goes wrong.

import { testPki } from '../../../src/pki/test_pki.js';
import type { PopulationName } from '../../../src/cards/card_population.js';
import { riderPool, type RiderCard } from '../../../src/sim/bus_riders.js';
import { createSimBoardOn, SIM_BOOT_FIRST } from '../../../src/sim/sim_restart.js';
import type {
  TapReport,
  ValidatorConfig,
} from '../../../../firmware/src/app/validator/validator_ports.js';
import { boardOptions, countingCard } from './sim_ride.js';

/** The card of kind `name` in a pool (the first of that kind). */
export function cardOf(cards: readonly RiderCard[], name: PopulationName): RiderCard {
  const card = cards.find((c) => c.name === name);
  if (card === undefined) throw new Error(`no ${name} in the pool`);
  return card;
}

/**
 * Taps the twin of the pool card `name` (same seed, same personalisation, a separate object)
 * once on a scratch board and counts the commands it processed in that presentation. The
 * last of them is the one on which the card commits (READ RECORD of the last AFL record).
 */
export async function cleanTapCommands(
  seed: number,
  name: PopulationName,
  mode: ValidatorConfig['mode'],
): Promise<{ commands: number; report: TapReport | null }> {
  const twins = riderPool(seed, 1, testPki());
  const board = await createSimBoardOn(SIM_BOOT_FIRST, boardOptions(seed, twins, mode));
  try {
    const counted = countingCard(cardOf(twins.cards, name).card);
    board.rig.sim.placeCard(counted);
    const report = await board.rig.run(
      board.validator.turn((event) => {
        if (event.kind === 'CardProcessed') board.rig.sim.removeCard(counted);
      }),
    );
    return { commands: counted.commands()[0] ?? 0, report };
  } finally {
    board.dispose();
  }
}
