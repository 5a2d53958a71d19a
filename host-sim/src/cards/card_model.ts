// What the simulated PN532 sees of a card: its RF identity and an ISO 14443-4 APDU exchange.

/** ISO 14443-3A identity as the PN532 reports it in InListPassiveTarget (106 kbit/s type A). */
export interface CardIdentityTypeA {
  readonly kind: 'A';
  /** NFCID1: 4, 7 or 10 bytes. */
  readonly uid: Uint8Array;
  /** ATQA (SENS_RES), 2 bytes, in the order the PN532 reports it. */
  readonly atqa: Uint8Array;
  /** SAK (SEL_RES); bit 0x20 set = ISO 14443-4 compliant. */
  readonly sak: number;
  /** ATS including its TL byte (the PN532 returns it after auto-RATS). */
  readonly ats: Uint8Array;
}

/** ISO 14443-3B identity (106 kbit/s type B). */
export interface CardIdentityTypeB {
  readonly kind: 'B';
  /** ATQB: 0x50, PUPI (4), application data (4), protocol info (3) = 12 bytes. */
  readonly atqb: Uint8Array;
  /** ATTRIB response (at least 1 byte: MBLI/CID). */
  readonly attribRes: Uint8Array;
}

export type CardIdentity = CardIdentityTypeA | CardIdentityTypeB;

/**
 * A virtual contactless card. The simulator's PN532 calls these methods; fault plans wrap them.
 * `transceive` returns the R-APDU (data + SW1 SW2), or null when the card does not answer
 * (it left the field, or a fault plan dropped the answer after the card processed the command).
 */
export interface VirtualCard {
  /** Short human label ("unionpay-debit-ec"), used in logs and reports. */
  readonly label: string;
  /** RF identity for this presentation (phones draw a fresh random UID per powerOn). */
  identity(): CardIdentity;
  /** The card enters the field: volatile state is reset, persistent state (balance, ATC, torn
   *  backup) is kept. */
  powerOn(): void;
  /** One ISO 7816-4 command at the ISO 14443-4 level. */
  transceive(capdu: Uint8Array): Uint8Array | null;
  /** Modelled card processing time of the last transceive, in milliseconds. */
  lastProcessingMs(): number;
}
