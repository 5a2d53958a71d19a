// The tool gate of the pty/libnfc tests: loud skip on a developer machine, failure under CI.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { externalToolsReady, missingTools } from '../../src/pn532_sim/pty/external_tools.js';

const ABSENT = 'shuaka-no-such-tool-7f3a';

describe('externalToolsReady', () => {
  const savedCi = process.env['CI'];
  afterEach(() => {
    if (savedCi === undefined) delete process.env['CI'];
    else process.env['CI'] = savedCi;
    vi.restoreAllMocks();
  });

  it('presentTool_isReady', () => {
    expect(missingTools(['node', 'sh'])).toEqual([]);
    expect(externalToolsReady(['sh'], 'gate test')).toBe(true);
  });

  it('missingTool_outsideCi_warnsLoudlyAndReturnsFalse', () => {
    delete process.env['CI'];
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(externalToolsReady(['sh', ABSENT], 'gate test')).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain(
      `SKIPPED because these tools are missing: ${ABSENT}`,
    );
  });

  it('missingTool_underCi_throws', () => {
    process.env['CI'] = 'true';
    expect(() => externalToolsReady([ABSENT], 'gate test')).toThrow(/CI requires them/);
  });

  it('missingPkgConfigModule_isReported', () => {
    expect(missingTools([`pkg-config:${ABSENT}`])).toEqual([`pkg-config:${ABSENT}`]);
  });
});
