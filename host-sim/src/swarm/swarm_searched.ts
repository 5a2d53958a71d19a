// The bytes of the medium the PAN search already went through, per file: a full check searches
// only what differs from them (less a needle's length), as a later look finds the same there.

import { bytesEqual } from '../pki/emv_bytes.js';
import type { FollowedBytes } from './swarm_journal.js';

/**
 * Each file's bytes from its start that were searched and held nothing: every stretch of them
 * as long as the overlap lay whole inside one searched chunk (chunks overlap by that much).
 */
export class SearchedImages {
  private readonly images = new Map<string, { bytes: Uint8Array; length: number }>();

  constructor(private readonly overlapBytes: number) {}

  /** The bytes of `name` known searched (empty when none). */
  get(name: string): Uint8Array | undefined {
    const image = this.images.get(name);
    return image?.bytes.subarray(0, image.length);
  }

  has(name: string): boolean {
    return this.images.has(name);
  }

  /** A whole file's image, searched (nobody changes it afterwards). */
  set(name: string, bytes: Uint8Array): void {
    this.images.set(name, { bytes, length: bytes.length });
  }

  /** Every file's image at once (a full check searched the whole medium). */
  replace(files: ReadonlyMap<string, Uint8Array>): void {
    this.images.clear();
    for (const [name, bytes] of files) this.set(name, bytes);
  }

  /**
   * A chunk the follower read and searched, clean: the file's image goes on with it when the
   * chunk starts at 0, or when the image reaches at least an overlap past the chunk's start
   * and holds the same bytes from there (then a stretch across the chunk's start lies whole in
   * the image). Otherwise the file has no image (the next full check searches it all).
   */
  followed(chunk: FollowedBytes): void {
    const image = this.images.get(chunk.name);
    const at = chunk.offset;
    if (at === 0) {
      // The chunk views the medium's bytes: the image holds its own copy.
      this.set(chunk.name, chunk.bytes.slice());
      return;
    }
    const common = image === undefined ? 0 : image.length - at;
    if (image === undefined || common < this.overlapBytes || common > chunk.bytes.length
      || !bytesEqual(image.bytes.subarray(at, at + common), chunk.bytes.subarray(0, common))) {
      this.images.delete(chunk.name);
      return;
    }
    const length = at + chunk.bytes.length;
    if (length > image.bytes.length) {
      const grown = new Uint8Array(Math.max(length, 2 * image.bytes.length));
      grown.set(image.bytes.subarray(0, image.length));
      image.bytes = grown;
    }
    image.bytes.set(chunk.bytes.subarray(common), image.length);
    image.length = length;
  }

  /** Drops a file's image (its bytes held something: the next full check searches it all). */
  forget(name: string): void {
    this.images.delete(name);
  }
}
