// Where a process's anonymous memory lives, from /proc/PID/smaps. The soak samples it so that
// an RSS step can be traced to its owner: glibc's main heap (brk), glibc's per-thread arenas, or
// the rest (V8's heap pages, buffers mmap'd by malloc, thread stacks).

export interface AnonymousBreakdown {
  /** glibc's main arena, grown with brk: `[heap]`. It only ever shrinks from its top. */
  readonly brkHeapBytes: number;
  /** glibc's arenas for other threads (libuv's pool, V8's workers): each a 64 MiB-aligned
   *  reservation, read-write at its start and PROT_NONE after. */
  readonly threadArenaBytes: number;
  /** Every other anonymous mapping. */
  readonly otherAnonymousBytes: number;
}

/** glibc's HEAP_MAX_SIZE on 64-bit: 2 × the largest mmap threshold (32 MiB). */
const ARENA_RESERVATION = 64n * 1024n * 1024n;

interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly perms: string;
  readonly anonymous: boolean;
  readonly name: string;
  rssBytes: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/;

export function anonymousBreakdown(smaps: string): AnonymousBreakdown {
  const mappings: Mapping[] = [];
  for (const line of smaps.split('\n')) {
    const header = HEADER.exec(line);
    if (header !== null) {
      const name = header[5]!;
      mappings.push({ start: BigInt(`0x${header[1]!}`), end: BigInt(`0x${header[2]!}`), perms: header[3]!, anonymous: header[4] === '0', name, rssBytes: 0 });
    } else if (line.startsWith('Rss:') && mappings.length > 0) {
      mappings[mappings.length - 1]!.rssBytes = Number(/(\d+) kB/.exec(line)?.[1] ?? 0) * 1024;
    }
  }
  let brkHeapBytes = 0;
  let threadArenaBytes = 0;
  let otherAnonymousBytes = 0;
  mappings.forEach((mapping, i) => {
    if (mapping.name === '[heap]') brkHeapBytes += mapping.rssBytes;
    else if (!mapping.anonymous || mapping.name !== '') return;
    else if (isThreadArena(mapping, mappings[i + 1])) threadArenaBytes += mapping.rssBytes;
    else otherAnonymousBytes += mapping.rssBytes;
  });
  return { brkHeapBytes, threadArenaBytes, otherAnonymousBytes };
}

function isThreadArena(mapping: Mapping, next: Mapping | undefined): boolean {
  if (!mapping.perms.startsWith('rw') || mapping.start % ARENA_RESERVATION !== 0n) return false;
  const reservationEnd = mapping.start + ARENA_RESERVATION;
  if (mapping.end === reservationEnd) return true;
  return next !== undefined && next.anonymous && next.name === '' && next.perms.startsWith('---') && next.start === mapping.end && next.end === reservationEnd;
}
