// docs/board: the systemd unit checked by systemd's own verifier, and the unit, the udev rule
// and `shuaka run`'s flags checked against each other.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../assembly/test/support/codec_vectors.js';
import { missingTools } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import { RUN_USAGE } from '../src/cli/run_cmd.js';

const UNIT = join(REPO_ROOT, 'docs', 'board', 'shuaka.service');
const RULES = join(REPO_ROOT, 'docs', 'board', '99-shuaka.rules');

/** The unit's `Key=value` settings (continuation lines joined), comments dropped. */
function unitSettings(): Map<string, string[]> {
  const text = readFileSync(UNIT, 'utf8').replace(/\\\n\s*/g, ' ');
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, key = '', value = ''] = match;
    settings.set(key, [...(settings.get(key) ?? []), value]);
  }
  return settings;
}

describe('docs/board', () => {
  it('unit_passesSystemdAnalyzeVerify', () => {
    if (missingTools(['systemd-analyze']).length > 0) {
      const message = 'board_files: systemd-analyze missing (Debian: apt-get install -y systemd)';
      // .ci/setup installs it: under CI a missing tool fails rather than skips.
      if (process.env['CI'] === 'true') throw new Error(`${message}; CI requires it`);
      console.warn(`\n!!!!!!!! ${message}, unit not verified by systemd\n`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-unit-'));
    try {
      copyFileSync(UNIT, join(dir, 'shuaka.service'));
      const verify = spawnSync('systemd-analyze', ['verify', join(dir, 'shuaka.service')], {
        encoding: 'utf8',
      });
      // Only this unit's own problems count (the host's other units may have theirs).
      const own = verify.stderr.split('\n').filter((l) => l.includes('shuaka.service'));
      expect(own, verify.stderr).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unit_execStart_usesOnlyFlagsOfShuakaRun_andNoWatchdogWithoutNotify', () => {
    const settings = unitSettings();
    const exec = settings.get('ExecStart')?.[0] ?? '';
    expect(exec).toMatch(/shuaka\.js run /);
    const flags = exec.split(/\s+/).filter((word) => word.startsWith('--'));
    expect(flags.length).toBeGreaterThan(3);
    for (const flag of flags) expect(RUN_USAGE).toContain(`${flag} `);
    // shuaka never calls sd_notify, so a watchdog or Type=notify would kill or hang it.
    expect(settings.has('WatchdogSec')).toBe(false);
    expect(settings.get('Type')).toEqual(['simple']);
    expect(settings.get('RestartPreventExitStatus')).toEqual(['2']);
  });

  it('udevRule_namesTheDevicesTheUnitOpensAndWaitsFor', () => {
    const settings = unitSettings();
    const exec = settings.get('ExecStart')?.[0] ?? '';
    const rules = readFileSync(RULES, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    const links = rules.flatMap((l) => [...l.matchAll(/SYMLINK\+="([^"]+)"/g)].map((m) => m[1]));
    for (const link of links) expect(exec).toContain(`/dev/${link}`);
    expect(links).toEqual(['shuaka-pn532', 'shuaka-dwin']);
    // systemd escapes '-' in a device path as \x2d (systemd.unit(5), "String Escaping").
    expect(settings.get('Wants')).toEqual(['dev-shuaka\\x2dpn532.device']);
    for (const rule of rules.filter((l) => l.includes('SYMLINK'))) {
      expect(rule).toContain('GROUP="shuaka"');
      expect(rule).toContain('TAG+="systemd"');
    }
  });
});
