// The soak traces an RSS step to its owner; a misfiled mapping would send the hunt to the wrong
// allocator. The excerpt is the shape of a real agent's smaps (fields the parser skips trimmed).
import { describe, expect, it } from 'vitest';
import { anonymousBreakdown } from '../../soak/smaps.js';

function mapping(range: string, perms: string, inode: string, name: string, rssKb: number): string {
  return `${range} ${perms} 00000000 00:00 ${inode}${name === '' ? '' : `                          ${name}`}\nSize:               4 kB\nRss:              ${rssKb} kB\nPss:                4 kB\n`;
}

const SMAPS = [
  mapping('55d4c8a00000-55d4c8b00000', 'r-xp', '1234567', '/usr/bin/node', 30_000),
  mapping('55d4ca000000-55d4cb600000', 'rw-p', '0', '[heap]', 20_480),
  // A thread arena: its read-write start, then the rest of the 64 MiB reservation.
  mapping('7f0498000000-7f0498400000', 'rw-p', '0', '', 4_096),
  mapping('7f0498400000-7f049c000000', '---p', '0', '', 0),
  // An arena grown to the whole reservation.
  mapping('7f04a0000000-7f04a4000000', 'rw-p', '0', '', 1_024),
  // V8 pages: 256 KiB-aligned, not arena-shaped, even when followed by a reservation.
  mapping('c8af6640000-c8af6a40000', 'rw-p', '0', '', 4_096),
  mapping('c8af6a40000-c8afa640000', '---p', '0', '', 0),
  // 64 MiB-aligned, but the reservation after it is not 64 MiB: not an arena.
  mapping('7f0500000000-7f0500100000', 'rw-p', '0', '', 512),
  mapping('7f0500100000-7f0500200000', '---p', '0', '', 0),
  mapping('7ffd1c000000-7ffd1c021000', 'rw-p', '0', '[stack]', 132),
].join('');

describe('anonymousBreakdown', () => {
  it('files [heap] as brk, arena-shaped mappings as thread arenas, other anonymous memory as the rest, and skips files and the stack', () => {
    expect(anonymousBreakdown(SMAPS)).toEqual({
      brkHeapBytes: 20_480 * 1024,
      threadArenaBytes: (4_096 + 1_024) * 1024,
      otherAnonymousBytes: (4_096 + 512) * 1024,
    });
  });
});
