// The swarm's cardholder-data finder: real track 2 images are found, random hex is not.

import { describe, expect, it } from 'vitest';

import { Prng } from '../../src/prng.js';
import { PanFinder } from '../../src/swarm/swarm_pan.js';
import { testSeed } from '../sim/support/sim_ride.js';

/** A Luhn-valid PAN of no population (ISO/IEC 7812 test number). */
const OTHER_PAN = '4111111111111111';

describe('PanFinder', () => {
  it('findsTrack2_inTlvHex_inAJsonString_andAfterAnEqualsSign', () => {
    const finder = new PanFinder([]);
    const track2 = `${OTHER_PAN}D29122010000000000`;
    const tlv = `"iccDataHex":"9F3602000157${(track2.length / 2).toString(16)}${track2}"`;
    // Found at its tag 57.
    expect(finder.findInBytes(Buffer.from(tlv, 'latin1'))).toMatch(/^track-2 .* at byte 24$/);
    expect(finder.findInText(`{"t2":"${track2}"}`)).toBe('track-2 equivalent data');
    expect(finder.findInText(`;${OTHER_PAN}=2912201?`)).toBe('track-2 equivalent data');
    // A month 13 or a PAN failing Luhn is no track 2.
    expect(finder.findInText(`"${OTHER_PAN}D2913201"`)).toBeNull();
    expect(finder.findInText(`"4111111111111112D2912201"`)).toBeNull();
  });

  it('findsNoTrack2_afterA57_thatIsNoTag57Header', () => {
    const finder = new PanFinder([]);
    // A T-Union purchase record (swarm seed 1, 5,000 taps): a TAC ending A579, terminal number
    // 000000000123, terminal serial 000002D4, then the date read as "57 90" + 16 Luhn-valid
    // digits + "D" + 4202612.
    const record =
      '"kernelRecordHex":"4A01010901011000FFFFFFFF031051700701007913810244030100000708000000C8' +
      '00970100B3A8A579000000000123000002D4202612010200492E0AA5DE0000000000"';
    expect(finder.findInBytes(Buffer.from(record, 'latin1'))).toBeNull();
    expect(finder.findInText(record)).toBeNull();
    // A length byte that does not cover the track, or a value with a non-digit in it.
    const track2 = `${OTHER_PAN}D29122010000000000`;
    expect(finder.findInText(`"5712${track2}"`)).toBeNull();
    expect(finder.findInText(`"5711${track2.slice(0, -1)}A"`)).toBeNull();
    // Odd digits padded with F, as EMV writes them.
    expect(finder.findInText(`"5711${track2.slice(0, -1)}F"`)).toBe('track-2 equivalent data');
    // A "57" that is no header does not hide the one after it.
    expect(finder.findInText(`"575711${track2}"`)).toBe('track-2 equivalent data');
    // A T-Union record (swarm seed 109, 5,000 taps): TAC 5151F571, terminal number
    // 000000000123, serial 000002D8, date: "5710", then 16 bytes of digits, one D, digits.
    const tunion = '"kernelRecordHex":"4A010109010110000E7400000000009401005151F57100000000012300'
      + '0002D820261122094806316F1680000000"';
    expect(finder.findInBytes(Buffer.from(tunion, 'latin1'))).toBeNull();
    expect(finder.findInText(tunion)).toBeNull();
    // A "57" between two bytes' nibbles (swarm seed 78, 20,000 taps): C6 25 70 F4, then
    // terminal number and date, read from the 5 of 25 as "57 0F" and a whole 15-byte track 2
    // with a Luhn-valid PAN. The same value on a byte of its field is one.
    const between = '"kernelRecordHex":"F80100C62570F4000000000123000008D120261122181243D1"';
    expect(finder.findInBytes(Buffer.from(between, 'latin1'))).toBeNull();
    expect(finder.findInText(between)).toBeNull();
    expect(finder.findInText('"F80100C6570F4000000000123000008D1202611221"'))
      .toBe('track-2 equivalent data');
  });

  it('findsNoTrack2_inAHexFieldThatOnlyStartsLikeOne', () => {
    const finder = new PanFinder([]);
    // A sealed PAN (swarm seed 12, 5,000 taps): 13 Luhn-valid digits, D, 4507471, then hex.
    const sealed = '"panSealed":"0146911748219D45074717BE4D07FE632593FEB6435687E738599285D80D56AF"';
    expect(finder.findInBytes(Buffer.from(sealed, 'latin1'))).toBeNull();
    expect(finder.findInText(sealed)).toBeNull();
    // A card's track 2 as a token of its own is found, padded or not; the same shape with a
    // PAN starting with 0 (no card issuer's) is not.
    expect(finder.findInText(`"${OTHER_PAN}D4507471"`)).toBe('track-2 equivalent data');
    expect(finder.findInText(`"${OTHER_PAN}D4507471F"`)).toBe('track-2 equivalent data');
    expect(finder.findInText(`"${OTHER_PAN}D4507471FFF"`)).toBe('track-2 equivalent data');
    expect(finder.findInText('"0146911748219D4507471"')).toBeNull();
  });

  it('findsAPopulationPan_inDigitsAndInBcd_anywhere', () => {
    const pan = '6231000000000000017';
    const finder = new PanFinder([pan]);
    expect(finder.findInText(`x${pan}x`)).toMatch(/in clear$/);
    const bcd = Buffer.concat([Buffer.from([1, 2]), Buffer.from(`${pan}F`, 'hex')]);
    expect(finder.findInBytes(bcd)).toMatch(/\(BCD\) at byte 2$/);
    const asciiHex = Buffer.from(`"x":"01${Buffer.from(pan).toString('hex').toUpperCase()}"`);
    expect(finder.findInBytes(asciiHex)).toMatch(/\(ASCII as hex\) at byte 7$/);
  });

  it('findsNothing_in100kRandomHexFields', () => {
    const seed = testSeed(7);
    const prng = new Prng(seed);
    const finder = new PanFinder([]);
    const fields: string[] = [];
    for (let i = 0; i < 100_000; i += 1) {
      fields.push(`"f${i}":"${Buffer.from(prng.bytes(24)).toString('hex').toUpperCase()}"`);
    }
    const text = `{${fields.join(',')}}`;
    // The old pattern (any 12 digits, D, 7 digits) finds chance matches in this much hex.
    expect(/[0-9]{12,19}[D=][0-9]{7}/i.test(text), `seed ${seed}`).toBe(true);
    expect(finder.findInBytes(Buffer.from(text, 'latin1')), `seed ${seed}`).toBeNull();
  });

  it('findInText_answersAsEachPanAndTheTrack2PatternSearchedInTurn', () => {
    // The independent truth: every PAN searched with includes, in order, then track 2 as
    // ISO/IEC 7813 writes it (written out here: separator D, d or =, Luhn, month 01-12).
    const seed = testSeed(12);
    const prng = new Prng(seed);
    const track2 = (text: string): boolean => {
      const alnum = (c: string | undefined): boolean => c !== undefined && /[0-9A-Za-z]/.test(c);
      const digitsFrom = (at: number): number => {
        let end = at;
        while (end < text.length && text[end]! >= '0' && text[end]! <= '9') end += 1;
        return end - at;
      };
      const luhn = (digits: string): boolean => {
        let sum = 0;
        for (let i = 0; i < digits.length; i += 1) {
          const d = Number(digits[digits.length - 1 - i]);
          sum += i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d;
        }
        return sum % 10 === 0;
      };
      // PAN, separator, then YYMM, service code and discretionary digits: the end of the
      // digits after the separator, or -1.
      const track = (at: number, separators: string): number => {
        const pan = digitsFrom(at);
        if (pan < 12 || pan > 19 || !separators.includes(text[at + pan] ?? '')) return -1;
        // A card PAN's first digit (its major industry identifier) is 1-9.
        if (text[at] === '0') return -1;
        const rest = digitsFrom(at + pan + 1);
        const month = Number(text.slice(at + pan + 3, at + pan + 5));
        if (rest < 7 || month < 1 || month > 12 || !luhn(text.slice(at, at + pan))) return -1;
        return at + pan + 1 + rest;
      };
      for (let i = 0; i < text.length; i += 1) {
        // A token of its own: after a non-alphanumeric or the start, up to one; an F may pad.
        if (i === 0 || !alnum(text[i - 1])) {
          const end = track(i, 'Dd=');
          if (end >= 0) {
            let padded = end;
            while (text[padded] === 'F' || text[padded] === 'f') padded += 1;
            if (!alnum(text[padded])) return true;
          }
        }
        // Tag 57 on a byte of its hex run, a length byte, and exactly that many bytes of a
        // track 2 (D, F pad).
        let run = i;
        while (run > 0 && /^[0-9A-Fa-f]$/.test(text[run - 1] ?? '')) run -= 1;
        if (text.slice(i, i + 2) === '57' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 2, i + 4))
          && (i - run) % 2 === 0) {
          const bytes = parseInt(text.slice(i + 2, i + 4), 16);
          const value = text.slice(i + 4, i + 4 + 2 * bytes);
          const sep = [...value].findIndex((c) => c === 'D' || c === 'd');
          const pan = value.slice(0, Math.max(0, sep));
          const rest = value.slice(sep + 1).replace(/[Ff]$/, '');
          const month = Number(rest.slice(2, 4));
          if (
            bytes <= 19 && value.length === 2 * bytes && /^[1-9][0-9]{11,18}$/.test(pan) &&
            /^[0-9]{7,}$/.test(rest) && month >= 1 && month <= 12 && luhn(pan)
          ) {
            return true;
          }
        }
      }
      return false;
    };
    const panSets = [
      ['6231000000000000017', '6231000000000025', '4111111111111111'],
      ['62310000000000000170', '6231000000000025'],
      // A PAN that is not all digits: every text is searched the long way.
      ['6231000000000025', '62310000X0000025'],
    ];
    // Luhn-valid runs of 12 to 15 digits, shorter than any PAN here, make track-2 images.
    const pieces = ['"', ',', ':', 'D', 'd', '=', ' ', 'x', '57', '0', '1', '9', '2912', '1301',
      '201', 'D2912201', 'd2912201', '=2912201', '411111111117', '6231000000005',
      '41111111111007', '623100000000005', '1700000000000', '623100000000002',
      '6231000000000025', '4111111111111111', '62310000X0000025', '6231000000000000017',
      // Tag 57 headers: a whole track, one padded with F, one cut short.
      '570A411111111117D2912201', '570B41111111111007D2912201F', '570A41111111111007D29122',
      'F', 'A', 'B7'];
    let found = 0;
    // Track-2 images with no digit run as long as a PAN (the ones a digit count alone misses).
    let tracks = 0;
    for (const pans of panSets) {
      const finder = new PanFinder(pans);
      for (let round = 0; round < 4000; round += 1) {
        const text = Array.from({ length: 1 + prng.below(14) }, () =>
          pieces[prng.below(pieces.length)] ?? '').join('');
        const pan = pans.find((p) => text.includes(p));
        const want = pan !== undefined
          ? `PAN ${pan.slice(0, 6)}…${pan.slice(-4)} in clear`
          : track2(text) ? 'track-2 equivalent data' : null;
        expect(finder.findInText(text), `seed ${seed}: ${text}`).toBe(want);
        if (want !== null) found += 1;
        if (want?.startsWith('track') === true && /[0-9]{16}/.test(text) === false) tracks += 1;
      }
    }
    expect(found, `seed ${seed}`).toBeGreaterThan(1000);
    expect(tracks, `seed ${seed}`).toBeGreaterThan(50);
  });

  it('answersAsTheNeedlesSearchedOneByOne_onMutatedJournalLikeBytes', () => {
    // The independent truth: every needle searched with Buffer.indexOf, in report order.
    const seed = testSeed(11);
    const prng = new Prng(seed);
    const pans = ['6231000000000000017', '6231000000000025', '623100000000', '4111111111111111'];
    const finder = new PanFinder(pans);
    const forms = (pan: string): [string, Buffer][] => [
      ['digits', Buffer.from(pan, 'latin1')],
      ['BCD', Buffer.from(pan.length % 2 === 0 ? pan : `${pan}F`, 'hex')],
      ['ASCII as hex', Buffer.from(Buffer.from(pan).toString('hex').toUpperCase(), 'latin1')],
    ];
    const naive = (bytes: Buffer): string | null => {
      for (const form of [0, 1, 2]) {
        for (const pan of pans) {
          const [name, needle] = forms(pan)[form] ?? ['', Buffer.alloc(0)];
          const at = bytes.indexOf(needle);
          const masked = `${pan.slice(0, 6)}…${pan.slice(-4)}`;
          if (at >= 0) return `PAN ${masked} in clear (${name}) at byte ${at}`;
        }
      }
      return null;
    };
    let found = 0;
    for (let round = 0; round < 3000; round += 1) {
      // Digits, hex and JSON punctuation, so runs of digit bytes of every length occur.
      const alphabet = '0123456789ABCDEF0123456789"{}:,*D=';
      const text = Array.from({ length: 40 + prng.below(200) }, () =>
        alphabet.charAt(prng.below(alphabet.length)),
      ).join('');
      const bytes = Buffer.from(text, 'latin1');
      const planted = [...bytes];
      for (let k = prng.below(3); k > 0; k -= 1) {
        const pan = pans[prng.below(pans.length)] ?? '';
        const [, needle] = forms(pan)[prng.below(3)] ?? ['', Buffer.alloc(0)];
        // Whole, or cut short by a byte (a near miss).
        const part = prng.chance(0.3) ? needle.subarray(0, needle.length - 1) : needle;
        planted.splice(prng.below(planted.length), 0, ...part);
      }
      const haystack = Buffer.from(planted);
      const expected = naive(haystack);
      if (expected !== null) found += 1;
      const actual = finder.findInBytes(haystack);
      expect(actual === null || actual.startsWith('PAN') ? actual : null, `seed ${seed}`).toBe(
        expected,
      );
    }
    expect(found, `seed ${seed}`).toBeGreaterThan(1000);
  });

  it('findsInAnEvent_whatItFindsInTheEventsJsonText', () => {
    const seed = testSeed(13);
    const prng = new Prng(seed);
    const pans = ['6231000000000000017', '6231000000000025', '4111111111111111'];
    const finder = new PanFinder(pans);
    const track2 = `${OTHER_PAN}D29122010000000000`;
    // Digits, separators, quotes, backslashes, control characters and a lone surrogate: runs
    // of digits of every length, and characters JSON escapes (some as \u with digits: \u0006
    // then a PAN's other digits is the PAN in the JSON text only).
    const pieces = ['0', '1', '7', '9', 'D', 'd', '=', '"', '\\', '\n', '\u0006', '\u001f',
      '\ud800', 'A', ' ', ':', ...pans, '231000000000025', track2, `5712${track2}`];
    const text = (): string => Array.from({ length: prng.below(12) }, () =>
      pieces[prng.below(pieces.length)] ?? '').join('');
    const value = (): unknown => {
      switch (prng.below(7)) {
        case 0: return prng.below(1 << 30) * 1e6 + prng.below(1000);
        case 1: return [1e21, -0.5, Number.NaN, Infinity, 4111111111111111, -42, 99999999999][
          prng.below(7)];
        case 2: return prng.chance(0.5);
        case 3: return null;
        case 4: return prng.chance(0.5) ? undefined : { nested: text() };
        default: return text();
      }
    };
    let found = 0;
    for (let round = 0; round < 3000; round += 1) {
      const event: Record<string, unknown> = { event: 'tap' };
      for (let k = prng.below(5); k > 0; k -= 1) {
        event[prng.chance(0.2) ? text() : `f${k}`] = value();
      }
      const expected = finder.findInText(JSON.stringify(event));
      if (expected !== null) found += 1;
      expect(finder.findInEvent(event), `seed ${seed} ${JSON.stringify(event)}`).toBe(expected);
    }
    expect(found, `seed ${seed}`).toBeGreaterThan(300);
  });

  it('findsTrack2_inBytes_whereItsFoundInTheirText', () => {
    const seed = testSeed(14);
    const prng = new Prng(seed);
    const finder = new PanFinder([]);
    const track2 = `${OTHER_PAN}D29122010000000000`;
    // Mostly digits, so runs of every length meet separators; whole track 2 images, cut ones.
    // A PAN of 12 digits (the fewest) too: a run just long enough, wherever it falls.
    const pieces = ['0', '1', '4', '9', '0123456789', 'D', 'd', '=', 'A', '"', ' ', track2,
      `57${(track2.length / 2).toString(16)}${track2}`, track2.slice(0, 20),
      ' 411111111117=2912201 ', '"411111111117D2912201"', ' ', '"', 'A'];
    let found = 0;
    for (let round = 0; round < 3000; round += 1) {
      const text = Array.from({ length: prng.below(40) }, () =>
        pieces[prng.below(pieces.length)] ?? '').join('');
      const expected = finder.findInText(text) !== null;
      if (expected) found += 1;
      const actual = finder.findInBytes(Buffer.from(text, 'latin1'));
      expect(actual !== null, `seed ${seed} ${text}`).toBe(expected);
    }
    expect(found, `seed ${seed}`).toBeGreaterThan(300);
  });
});
