// A file system that fails the way an agent short of resources sees it, for the store's and the
// one-shot load's tests: open() refused with EMFILE while descriptors are exhausted, and reads
// that race a writer (the file ends early, so the read is not one version of it).
import { threadPoolAccess, type FileAccess } from '../../src/fs/file-access.js';

export interface Faults {
  /** While set, every open() fails with EMFILE. */
  descriptorsExhausted: boolean;
  /** The next this many opened files read as empty, which the reader takes for a file caught
   *  mid-write (fewer bytes than its size). */
  tornReads: number;
  /** open() calls that succeeded: one per read of a file. */
  opens: number;
}

export function newFaults(): Faults {
  return { descriptorsExhausted: false, tornReads: 0, opens: 0 };
}

export function faultyAccess(faults: Faults, real: FileAccess = threadPoolAccess): FileAccess {
  const torn = new Set<number>();
  return {
    ...real,
    open: async (path, flags) => {
      if (faults.descriptorsExhausted) throw Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE' });
      const fd = await real.open(path, flags);
      faults.opens++;
      if (faults.tornReads > 0) {
        faults.tornReads--;
        torn.add(fd);
      }
      return fd;
    },
    read: (fd, buffer, offset, length) => (torn.has(fd) ? Promise.resolve(0) : real.read(fd, buffer, offset, length)),
    close: (fd) => {
      torn.delete(fd);
      return real.close(fd);
    },
  };
}
