// Pn532Reader against the emulator over the in-memory line, paced on ClockSim (fast, exact).

import { describe } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import { definePn532ReaderScenarios } from './pn532_reader_suite.js';

describe('Pn532Reader over SerialLinkSim', () => {
  definePn532ReaderScenarios(
    async (sim) => {
      const clock = new ClockSim(0);
      const rig = createPn532SimRig(clock, {
        ...PN532_SIM_RIG_DEFAULT_OPTIONS,
        sim: { ...PN532_SIM_RIG_DEFAULT_OPTIONS.sim, ...sim },
      });
      return {
        reader: rig.reader,
        sim: rig.sim,
        clock,
        hostBytes: () => rig.line.sent('host-to-device'),
        run: rig.run,
        close: async () => {
          rig.sim.detach();
        },
      };
    },
    () => true,
  );
});
