// Why a writer cannot create files in a textfile directory, told so that the person at the
// terminal can act on it: a missing directory names the flag that sets it; a permission error
// names who may write there and, for the packaged directory, how to join its writers' group.
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The group the Debian package gives /var/lib/promdrop (root:promdrop-writers, mode 2775). */
export const WRITERS_GROUP = 'promdrop-writers';

/**
 * A one-line explanation of `code` (an errno code) for creating something in `directory`, or
 * undefined when the code is not about the directory being missing or unwritable.
 */
export function explainDirectoryProblem(directory: string, code: string | undefined): string | undefined {
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return `textfile directory ${directory} does not exist or is not a directory (set it with -d or PROMDROP_DIR)`;
  }
  if (code === 'EROFS') return `textfile directory ${directory} is on a read-only file system`;
  if (code === 'EACCES' || code === 'EPERM') return explainPermissionDenied(directory);
  return undefined;
}

function explainPermissionDenied(directory: string): string {
  const user = currentUserName();
  try {
    const stats = statSync(directory);
    return describeWriters({ directory, user, owner: nameOf('/etc/passwd', stats.uid), group: nameOf('/etc/group', stats.gid), mode: stats.mode & 0o7777 });
  } catch {
    return `permission denied: user ${user} cannot create files in textfile directory ${directory}; run it as a user who may write there`;
  }
}

export interface DirectoryOwnership {
  readonly directory: string;
  /** Who tried to write. */
  readonly user: string;
  readonly owner: string;
  readonly group: string;
  readonly mode: number;
}

/** The permission-denied message for a directory of known owner, group and mode. */
export function describeWriters({ directory, user, owner, group, mode }: DirectoryOwnership): string {
  const octal = mode.toString(8).padStart(4, '0');
  const groupWritable = (mode & 0o020) !== 0;
  const writers = [`${owner} (its owner)`, ...(groupWritable ? [`members of group ${group}`] : [])];
  const how = groupWritable && group === WRITERS_GROUP ? `; to let ${user} write: sudo adduser ${user} ${WRITERS_GROUP}, then log in again` : '';
  return (
    `permission denied: user ${user} cannot create files in textfile directory ${directory} ` +
    `(${owner}:${group}, mode ${octal}: only ${writers.join(' and ')} may write there${how})`
  );
}

export function currentUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** The name of numeric id `id` in /etc/passwd or /etc/group, else the number. */
function nameOf(database: string, id: number): string {
  try {
    for (const line of readFileSync(database, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 3 && fields[2] === String(id)) return fields[0]!;
    }
  } catch {
    // unreadable database: the number is still true
  }
  return String(id);
}
