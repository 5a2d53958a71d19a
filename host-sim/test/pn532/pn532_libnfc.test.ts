// libnfc (an independent PN532 host) against our emulator on a socat pty: conformance checks.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardIdentity } from '../../src/cards/card_model.js';
import { PN532_SIM_DEFAULT_OPTIONS, type Pn532SimOptions } from '../../src/pn532_sim/pn532_sim.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  SCRIPTED_IDENTITY_B,
  ScriptedCard,
  hexBytes,
  qpbocScriptedCard,
  toHex,
} from '../../src/pn532_sim/pn532_scripted_card.js';
import { externalToolsReady } from '../../src/pn532_sim/pty/external_tools.js';
import { startPn532SimOnPty, type Pn532SimOnPty } from '../../src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../src/pn532_sim/pty/wall_clock.js';

const TOOLS = [
  'socat',
  'nfc-list',
  'nfc-poll',
  'nfc-scan-device',
  'gcc',
  'pkg-config',
  'pkg-config:libnfc',
];
const PROCESS_TIMEOUT_MS = 20_000;
const HERE = path.dirname(fileURLToPath(import.meta.url));

let ready = false;
let workDir = '';
let clientPath = '';
const children = new Set<ChildProcess>();
const emulators = new Set<Pn532SimOnPty>();

beforeAll(() => {
  ready = externalToolsReady(TOOLS, 'libnfc conformance of the PN532 emulator');
  if (!ready) return;
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-libnfc-'));
  clientPath = path.join(workDir, 'nfc_apdu_client');
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libnfc'], { encoding: 'utf8' });
  const args = ['-O2', '-Wall', '-o', clientPath, path.join(HERE, 'fixtures', 'nfc_apdu_client.c')];
  const gcc = spawnSync('gcc', [...args, ...flags.stdout.trim().split(/\s+/)], {
    encoding: 'utf8',
  });
  if (gcc.status !== 0) throw new Error(`gcc failed: ${gcc.stderr}`);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const emulator of emulators) await emulator.close();
  if (workDir !== '') fs.rmSync(workDir, { recursive: true, force: true });
});

interface Session {
  readonly emulator: Pn532SimOnPty;
  readonly env: NodeJS.ProcessEnv;
  readonly connstring: string;
  readonly log: string[];
}

/** Runs `body` with a fresh socat pair and emulator holding `cards`; always tears down. */
async function withEmulator(
  sim: Partial<Pn532SimOptions>,
  cards: readonly ScriptedCard[],
  body: (s: Session) => Promise<void>,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(workDir, 'pty-'));
  const log: string[] = [];
  const emulator = await startPn532SimOnPty({
    dir,
    clock: new WallClock(),
    pace: false,
    sim: {
      ...PN532_SIM_DEFAULT_OPTIONS,
      waitModelledTime: false,
      log: (line) => log.push(line),
      ...sim,
    },
  });
  emulators.add(emulator);
  for (const card of cards) emulator.sim.placeCard(card);
  const connstring = `pn532_uart:${emulator.hostPath}`;
  // The emulator's pty is named in the environment; no config file, no intrusive scan.
  const env = {
    ...process.env,
    LIBNFC_DEVICE: connstring,
    LIBNFC_DEFAULT_DEVICE: connstring,
    LIBNFC_AUTO_SCAN: 'false',
    LIBNFC_INTRUSIVE_SCAN: 'false',
    LIBNFC_LOG_LEVEL: '1',
  };
  try {
    await body({ emulator, env, connstring, log });
  } catch (err) {
    console.error(`emulator transcript:\n${log.slice(-60).join('\n')}`);
    throw err;
  } finally {
    emulators.delete(emulator);
    await emulator.close();
  }
}

/** Runs a program to completion (bounded); returns stdout + stderr. Never rejects. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env, timeout: PROCESS_TIMEOUT_MS },
      (_err, stdout, stderr) => {
        children.delete(child);
        resolve(`${stdout}${stderr}`);
      },
    );
    children.add(child);
  });
}

/** `nfc-list`-style hex ("5a  3c  21  9e") for bytes. */
function spaced(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('  ');
}

const CARD_A = SCRIPTED_IDENTITY_A as Extract<CardIdentity, { kind: 'A' }>;

describe('libnfc pn532_uart against the emulator', () => {
  it('nfcList_t1_listsAtqaUidSakAts', async () => {
    if (!ready) return;
    await withEmulator({}, [qpbocScriptedCard('a', CARD_A)], async (s) => {
      const out = await run('nfc-list', ['-t', '1'], s.env);
      expect(out).toContain('1 ISO14443A passive target(s) found');
      expect(out).toContain(`ATQA (SENS_RES): ${spaced(CARD_A.atqa)}`);
      expect(out).toContain(`UID (NFCID1): ${spaced(CARD_A.uid)}`);
      expect(out).toContain('SAK (SEL_RES): 28');
      expect(out).toContain(`ATS: ${spaced(CARD_A.ats.subarray(1))}`);
    });
  });

  it('nfcList_allModulations_answersEveryProbe', async () => {
    if (!ready) return;
    await withEmulator({}, [qpbocScriptedCard('a', CARD_A)], async (s) => {
      const out = await run('nfc-list', ['-v'], s.env);
      expect(out).toContain('1 ISO14443A passive target(s) found');
      for (const none of [
        'Felica (212 kbps)',
        'ISO14443B',
        'ISO14443A-3 Jewel',
        'ISO14443A-2 NFC Barcode',
      ]) {
        expect(out).toContain(`0 ${none} passive target(s) found`);
      }
    });
  });

  it('nfcList_t8_listsTheTypeBCard', async () => {
    if (!ready) return;
    await withEmulator({}, [qpbocScriptedCard('b', SCRIPTED_IDENTITY_B)], async (s) => {
      const out = await run('nfc-list', ['-t', '8'], s.env);
      expect(out).toContain('1 ISO14443B passive target(s) found');
      expect(out).toContain('PUPI: 1a  2b  3c  4d');
      expect(out).toContain('Protocol Info: 80  71  81');
    });
  });

  it('nfcScanDevice_v_reportsPn532v16', async () => {
    if (!ready) return;
    await withEmulator({}, [], async (s) => {
      const out = await run('nfc-scan-device', ['-v'], s.env);
      expect(out).toContain('PN532 v1.6');
      expect(out).toContain('ISO/IEC 14443-4B');
    });
  });

  it('nfcPoll_findsTheCard_andReportsItsRemoval', async () => {
    if (!ready) return;
    const card = qpbocScriptedCard('a', CARD_A);
    await withEmulator({}, [card], async (s) => {
      const child = spawn('nfc-poll', [], { env: s.env });
      children.add(child);
      let out = '';
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const guard = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Remove the card once libnfc has printed it and entered its presence loop.
        if (out.includes('Waiting for card removing')) s.emulator.sim.removeCard(card);
      });
      await exited;
      clearTimeout(guard);
      children.delete(child);
      expect(out).toContain(`UID (NFCID1): ${spaced(CARD_A.uid)}`);
      expect(out).toMatch(/Waiting for card removing\.\.\.[\s\S]*done\./);
      expect(s.log.some((l) => l.startsWith('H>P 00 00 ff 03 fd d4 42 b2'))).toBe(true);
    });
  });

  it('apduClient_typeA_qpbocTapAnd258ByteExtendedAnswer', async () => {
    if (!ready) return;
    const card = qpbocScriptedCard('a', CARD_A);
    const capdus = [
      QPBOC_CAPDU.selectPpse,
      QPBOC_CAPDU.selectAid,
      QPBOC_CAPDU.gpo,
      QPBOC_CAPDU.readRecord1,
      QPBOC_CAPDU.readRecord2,
      QPBOC_CAPDU.readRecord3,
      QPBOC_CAPDU.readRecord4,
      QPBOC_CAPDU.getData258,
    ];
    await withEmulator({}, [card], async (s) => {
      const out = await run(clientPath, [s.connstring, 'A', ...capdus], s.env);
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe(`TARGET ${toHex(CARD_A.uid)}`);
      expect(lines.slice(1)).toEqual(capdus.map((c) => `R ${toHex(card.answerTo(c))}`));
      // The 258-byte answer went back in an extended frame (pn532.md §1: 00 00 FF FF FF 01 05).
      expect(s.log.some((l) => l.startsWith('P>H 00 00 ff ff ff 01 05 fa d5 41 00'))).toBe(true);
    });
  });

  it('apduClient_miChunk64_libnfcFetchesAndReassemblesEveryPart', async () => {
    if (!ready) return;
    const card = qpbocScriptedCard('a', CARD_A);
    await withEmulator({ miChunkBytes: 64 }, [card], async (s) => {
      const capdus = [QPBOC_CAPDU.getData258, QPBOC_CAPDU.gpo];
      const out = await run(clientPath, [s.connstring, 'A', ...capdus], s.env);
      expect(out.trim().split('\n').slice(1)).toEqual(
        capdus.map((c) => `R ${toHex(card.answerTo(c))}`),
      );
      const continuations = s.log.filter((l) => l === 'H>P 00 00 ff 03 fd d4 40 01 eb 00');
      expect(continuations.length).toBe(4 + 3); // 258 = 4 x 64 + 2; 225 = 3 x 64 + 33
    });
  });

  it('apduClient_typeB_exchangesApdus', async () => {
    if (!ready) return;
    const card = qpbocScriptedCard('b', SCRIPTED_IDENTITY_B);
    await withEmulator({}, [card], async (s) => {
      const capdus = [QPBOC_CAPDU.selectPpse, QPBOC_CAPDU.gpo];
      const out = await run(clientPath, [s.connstring, 'B', ...capdus], s.env);
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe('TARGET 1A2B3C4D');
      expect(lines.slice(1)).toEqual(capdus.map((c) => `R ${toHex(card.answerTo(c))}`));
    });
  });

  it('apduClient_cardPulledMidSession_libnfcSeesAnRfError', async () => {
    if (!ready) return;
    const card = qpbocScriptedCard('a', CARD_A);
    await withEmulator({}, [card], async (s) => {
      s.emulator.sim.injectFault({ kind: 'remove-card', when: 'after-card' });
      const out = await run(clientPath, [s.connstring, 'A', QPBOC_CAPDU.selectPpse], s.env);
      expect(out).toMatch(/^E RF Transmission Error/m);
      expect(toHex(card.received[0] ?? [])).toBe(toHex(hexBytes(QPBOC_CAPDU.selectPpse)));
    });
  });

  it('wakeUp_chipLosingMoreThanLibnfcsBurst_cannotBeOpened (negative control)', async () => {
    if (!ready) return;
    await withEmulator({ wakeBytesLost: 18 }, [], async (s) => {
      const out = await run('nfc-list', ['-t', '1'], s.env);
      expect(out).not.toContain('target(s) found');
      expect(out).toMatch(/Unable to open NFC device/);
    });
  });

  it('libnfcSession_transcriptContainsTheMeasuredExchangesInOrder', async () => {
    if (!ready) return;
    // pn532.md §7.3 measured the same libnfc build against a PN532; our emulator must see the
    // same requests and give the same answers for the card described there.
    const docCard = new ScriptedCard(
      'doc',
      {
        kind: 'A',
        uid: hexBytes('08A1B2C3'),
        atqa: hexBytes('0004'),
        sak: 0x20,
        ats: hexBytes('0578807002'),
      },
      [],
    );
    const golden = [
      'H>P 00 00 ff 09 f7 d4 00 00 6c 69 62 6e 66 63 be 00',
      'P>H 00 00 ff 09 f7 d5 01 00 6c 69 62 6e 66 63 bc 00',
      'H>P 00 00 ff 02 fe d4 02 2a 00',
      'P>H 00 00 ff 06 fa d5 03 32 01 06 07 e8 00',
      'H>P 00 00 ff 03 fd d4 12 14 06 00',
      'H>P 00 00 ff 04 fc d4 4a 01 00 e1 00',
      'P>H 00 00 ff 11 ef d5 4b 01 01 00 04 20 04 08 a1 b2 c3 05 78 80 70 02 29 00',
      'H>P 00 00 ff 03 fd d4 52 00 da 00',
      'H>P 00 00 ff 03 fd d4 16 f0 26 00',
      'P>H 00 00 ff 03 fd d5 17 00 14 00',
    ];
    await withEmulator({}, [docCard], async (s) => {
      await run('nfc-list', ['-t', '1'], s.env);
      let at = 0;
      for (const line of golden) {
        const found = s.log.indexOf(line, at);
        expect(found, line).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    });
  });
});
