// What the validator application is given: ports, the kernel, the journal, the parameters.

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import type { DisplayPort } from '../../../../hal/src/ports/display_port.js';
import type { IndicatorPort } from '../../../../hal/src/ports/indicator_port.js';
import type { PsamPort } from '../../../../hal/src/ports/psam_port.js';
import type { ReaderPort } from '../../../../hal/src/ports/reader_port.js';
import type { Kernel } from '../../../../assembly/host/kernel_loader.js';
import type { QpbocMode } from '../../../../assembly/host/qpboc_session.js';
import type { Journal } from '../journal/journal.js';
import type { PanVault } from '../journal/pan_vault.js';
import type { ParamSet } from '../params/params_store.js';
import { TERMINAL_DATA_BUS_VALIDATOR, type TerminalData } from './tap_icc_data.js';

/** One structured log event; the sink writes it as a JSON line. PANs are masked before. */
export type LogEvent = Readonly<Record<string, string | number | boolean | null>>;

/** Where the application logs. */
export interface LogPort {
  log(event: LogEvent): void;
}

/**
 * Everything the validator loop uses. The application sees ports only: a board wires real
 * drivers (PN532 on a UART, DWIN display, sysfs buzzer, files) or the simulator's twins.
 */
export interface ValidatorPorts {
  readonly reader: ReaderPort;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  readonly clock: ClockPort;
  readonly kernel: Kernel;
  readonly journal: Journal;
  /** The active parameter set (the board's ParamStore keeps it current). */
  readonly params: () => ParamSet;
  /** 4 fresh unpredictable bytes per transaction (9F37): a hardware RNG or the sim's PRNG. */
  readonly unpredictableNumber: () => Uint8Array;
  /** Seals and tokenises PANs under the terminal data key before anything is journalled. */
  readonly panVault: PanVault;
  readonly log: LogPort;
  /**
   * The PSAM of T-Union (JT/T 978) taps, opened at boot (tunion_psam.ts); null or absent: no
   * PSAM, and T-Union cards are refused with their own screen and log line.
   */
  readonly psam?: ValidatorPsam | null;
  /**
   * The slot of a PSAM that was configured but did not open at boot (slot empty, power-on
   * failed, SELECT or READ BINARY refused): bank cards are served, T-Union cards refused as
   * with a PSAM gone, and it is opened at a T-Union card (tunion_psam_keeper.ts). Only read
   * when `psam` is null or absent; null or absent: none.
   */
  readonly psamUnopened?: PsamPort | null;
  /** Where the bus is now (the stop source: route position, driver console, simulator). */
  readonly position?: () => TransitPosition;
}

/** A PSAM that answered at boot: its port and what its files 0016/0017 said. */
export interface ValidatorPsam {
  readonly port: PsamPort;
  /** File 0016: the 6-byte terminal number (sent in INITIALIZE FOR PURCHASE, domain.md 7.4). */
  readonly terminalNumber: Uint8Array;
  /** File 0017 byte 1: the purchase key index. */
  readonly keyIndex: number;
  /** File 0017: the PSAM's validity, first and last day (YYYYMMDD, checked calendar days). */
  readonly validFromDigits: string;
  readonly validToDigits: string;
  /** Upper bound of one PSAM command (T=0 GET RESPONSE rounds included), ms. */
  readonly transmitTimeoutMs: number;
}

/** The bus's place for tap-in/tap-out fares (domain.md 7.3: station, vehicle, direction). */
export interface TransitPosition {
  /** The current stop on the line, 0 when unknown (a segment line then refuses the tap). */
  readonly stop: number;
  /** Vehicle number, ASCII, up to 8 characters (001A bytes 31-38). */
  readonly vehicle: string;
  /** 0 up, 1 down. */
  readonly direction: number;
}

/** The position of a bus that has no stop source: stop unknown. */
export const TRANSIT_POSITION_UNKNOWN: TransitPosition = { stop: 0, vehicle: '', direction: 0 };

/** Timing and mode choices of a validator; every field explicit (no hidden defaults). */
export interface ValidatorConfig {
  /**
   * 'auto': per card, e-cash when the purse pays the fare, else UnionPay ODA transit or the
   * full PBOC flow (admitted, authorised later); 'ec': e-cash only; 'oda': ODA only.
   */
  readonly mode: QpbocMode;
  /** Local time offset for 9A/9F21 and record times (China: +480). */
  readonly utcOffsetMinutes: number;
  /** One poll's upper bound. */
  readonly pollTimeoutMs: number;
  /** Pause between polls when no card is found. */
  readonly pollIntervalMs: number;
  /** Upper bound for one card answer (WTX included). */
  readonly transceiveTimeoutMs: number;
  /** How long to wait for the card to leave before polling again anyway. */
  readonly removalTimeoutMs: number;
  readonly removalIntervalMs: number;
  /** Plastic-card UID -> PAN memory used to price a tap before GPO. */
  readonly uidMemorySize: number;
  /** 9F33 9F35 9F1E 9F09 of this device: offered to the card's DOLs and added to field 55. */
  readonly terminalData: TerminalData;
}

/** Defaults for a bus validator: 106 kbit/s cards, riders who hold the card for about a second. */
export const VALIDATOR_CONFIG_DEFAULT: ValidatorConfig = {
  mode: 'auto',
  utcOffsetMinutes: 480,
  pollTimeoutMs: 200,
  pollIntervalMs: 20,
  transceiveTimeoutMs: 1500,
  removalTimeoutMs: 5000,
  removalIntervalMs: 100,
  uidMemorySize: 4096,
  terminalData: TERMINAL_DATA_BUS_VALIDATOR,
};

/** What one tap ended as: the rider-visible result and the facts behind it. */
export interface TapReport {
  readonly startedMs: number;
  readonly endedMs: number;
  /** Outcome the rider saw. */
  readonly result:
    | 'approved'
    | 'admitted'
    | 'declined'
    | 'denyList'
    | 'alreadyPaid'
    | 'tryAgain'
    | 'multipleCards'
    | 'outOfService'
    | 'notAccepted';
  readonly reason: string;
  readonly panMasked: string | null;
  readonly amountMinor: number | null;
  readonly balanceMinor: number | null;
  readonly fareRule: string | null;
  /** Journal sequence numbers written for this tap. */
  readonly journalSeqs: readonly number[];
  /** True when this tap finished a torn transaction (GPO-less recovery). */
  readonly recovered: boolean;
}
