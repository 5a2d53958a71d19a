// The bytes the PAN search went through: a file's image grows with the follower's clean
// chunks only where every stretch of an overlap's length lay whole in one searched chunk.

import { describe, expect, it } from 'vitest';

import { SearchedImages } from '../../src/swarm/swarm_searched.js';

const OVERLAP = 4;

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function text(image: Uint8Array | undefined): string | undefined {
  return image === undefined ? undefined : Buffer.from(image).toString('latin1');
}

describe('SearchedImages', () => {
  it('growsAFilesImage_withChunksThatOverlapItByTheSameBytes', () => {
    const searched = new SearchedImages(OVERLAP);
    searched.followed({ name: 'seg', offset: 0, bytes: bytes('abcdefgh') });
    searched.followed({ name: 'seg', offset: 3, bytes: bytes('defghijk') });
    searched.followed({ name: 'seg', offset: 7, bytes: bytes('hijklmnopqrstuvwxyz') });
    expect(text(searched.get('seg'))).toBe('abcdefghijklmnopqrstuvwxyz');
    // A whole file's image (a full check's) goes on the same way.
    searched.replace(new Map([['seg', bytes('0123456789')]]));
    searched.followed({ name: 'seg', offset: 6, bytes: bytes('6789AB') });
    expect(text(searched.get('seg'))).toBe('0123456789AB');
  });

  it('dropsTheImage_whenAChunkOverlapsItTooLittle_orByOtherBytes', () => {
    const searched = new SearchedImages(OVERLAP);
    searched.followed({ name: 'seg', offset: 0, bytes: bytes('abcdefgh') });
    // Three bytes of overlap: a stretch of four across the chunk's start was never searched.
    searched.followed({ name: 'seg', offset: 5, bytes: bytes('fghijk') });
    expect(searched.get('seg')).toBeUndefined();
    searched.followed({ name: 'seg', offset: 0, bytes: bytes('abcdefgh') });
    searched.followed({ name: 'seg', offset: 2, bytes: bytes('cdXfghij') });
    expect(searched.get('seg')).toBeUndefined();
    // A file shorter than its image (rewritten): no image either.
    searched.followed({ name: 'seg', offset: 0, bytes: bytes('abcdefgh') });
    searched.followed({ name: 'seg', offset: 2, bytes: bytes('cde') });
    expect(searched.get('seg')).toBeUndefined();
    // A chunk from 0 is an image of its own; one where a PAN was found is forgotten.
    searched.followed({ name: 'seg', offset: 0, bytes: bytes('xyz') });
    expect(text(searched.get('seg'))).toBe('xyz');
    searched.forget('seg');
    expect(searched.has('seg')).toBe(false);
  });
});
