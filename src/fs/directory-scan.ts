// Which directories the agent reads, and which entries in them are textfiles. Directory
// arguments may be globs, matched like Go's filepath.Glob (what node_exporter ≥ 1.3 uses), so a
// flag value copied from a node_exporter unit file selects the same directories.
import type { BigIntStats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { threadPoolAccess, type FileAccess } from './file-access.js';
import { join } from 'node:path';
import { describeError, errorCode } from './textfile-reader.js';
import { currentUserName } from './directory-permission.js';

/** Enough of a directory's stat to tell whether its list of entries may have changed. */
export interface DirectoryIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export type DirectoryStat =
  { readonly ok: true; readonly identity: DirectoryIdentity } | { readonly ok: false; readonly code: string | undefined; readonly message: string };

export type DirectoryListing =
  | {
      readonly ok: true;
      /** Stat taken before reading the entries: any later change leaves a different stat. */
      readonly identity: DirectoryIdentity;
      /** Textfile names (not paths), sorted in byte order. */
      readonly names: string[];
    }
  | { readonly ok: false; readonly code: string | undefined; readonly message: string };

export interface PatternExpansion {
  readonly pattern: string;
  /** Directories the pattern names, in Go's order (sorted per path element). */
  readonly directories: string[];
  /** Set when the pattern itself is malformed; `directories` is then [pattern]. */
  readonly error?: string;
}

/**
 * The textfile rule: a name ending in `.prom` (case-sensitive, as node_exporter) that does not
 * start with a dot. node_exporter also reads dotfiles; we skip them because `.name.prom` is
 * the shape of a writer's temporary file and must never be served half-written.
 */
export function isTextfileName(name: string): boolean {
  return name.endsWith('.prom') && !name.startsWith('.');
}

export function sameDirectoryIdentity(a: DirectoryIdentity, b: DirectoryIdentity): boolean {
  return a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

function directoryIdentityOf(stats: BigIntStats): DirectoryIdentity {
  return { dev: stats.dev, ino: stats.ino, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

/** stat of a directory (following symlinks), classified. Never throws. */
export async function statDirectory(directory: string, access: FileAccess = threadPoolAccess): Promise<DirectoryStat> {
  try {
    const stats = await access.stat(directory);
    if (!stats.isDirectory()) return { ok: false, code: 'ENOTDIR', message: `${directory}: not a directory` };
    return { ok: true, identity: directoryIdentityOf(stats) };
  } catch (error) {
    return { ok: false, code: errorCode(error), message: directoryErrorMessage(directory, error) };
  }
}

/** The textfile names in one directory, without recursion. Never throws. */
export async function listTextfiles(directory: string, access: FileAccess = threadPoolAccess): Promise<DirectoryListing> {
  const before = await statDirectory(directory, access);
  if (!before.ok) return before;
  let names: string[];
  try {
    names = await access.readdir(directory);
  } catch (error) {
    return { ok: false, code: errorCode(error), message: directoryErrorMessage(directory, error) };
  }
  const textfiles = names.filter(isTextfileName);
  textfiles.sort(compareBytes);
  return { ok: true, identity: before.identity, names: textfiles };
}

function directoryErrorMessage(directory: string, error: unknown): string {
  const code = errorCode(error);
  // Without the path: the log line (directory=) and `list` ("directory PATH: ...") name it already.
  if (code === 'ENOENT') return 'no such directory';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code}); user ${currentUserName()} cannot list it`;
  return describeError(error);
}

/** Byte-order comparison of strings as UTF-8 (Go's sort.Strings), not UTF-16 code units. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---------------------------------------------------------------------------------------------
// Globs

const GLOB_META = /[*?[\\]/;

export function hasGlobMeta(pattern: string): boolean {
  return GLOB_META.test(pattern);
}

/** A malformed glob pattern (Go's ErrBadPattern). */
export class GlobPatternError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`invalid glob pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'GlobPatternError';
  }
}

/**
 * Compiles one path element of a glob to a RegExp with Go's filepath.Match semantics: `*` is
 * any run of non-separator characters (dotfiles included), `?` one such character, `[...]` a
 * class with ranges and `^` negation, `\` escapes the next character.
 */
export function compileGlobElement(element: string): RegExp {
  let source = '^';
  let i = 0;
  const chars = Array.from(element);
  const bad = (reason: string): never => {
    throw new GlobPatternError(element, reason);
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '*') {
      source += '[^/]*';
      i++;
    } else if (c === '?') {
      source += '[^/]';
      i++;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) bad('trailing backslash');
      source += escapeRegExp(next!);
      i += 2;
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      let cls = '';
      let ranges = 0;
      for (;;) {
        const ch = chars[i];
        if (ch === undefined) bad('unterminated character class');
        if (ch === ']' && ranges > 0) {
          i++;
          break;
        }
        const lo = readClassChar(chars, i, bad);
        i = lo.next;
        if (chars[i] === '-') {
          const hi = readClassChar(chars, i + 1, bad);
          if (hi.char < lo.char) bad('character range is out of order');
          cls += `${escapeClassChar(lo.char)}-${escapeClassChar(hi.char)}`;
          i = hi.next;
        } else {
          cls += escapeClassChar(lo.char);
        }
        ranges++;
      }
      // Like Go, a class never matches the separator, even when negated.
      source += negated ? `[^/${cls}]` : `(?!/)[${cls}]`;
    } else {
      source += escapeRegExp(c);
      i++;
    }
  }
  return new RegExp(`${source}$`, 'u');
}

function readClassChar(chars: string[], at: number, bad: (reason: string) => never): { char: string; next: number } {
  let c = chars[at];
  let next = at + 1;
  if (c === '\\') {
    c = chars[at + 1];
    next = at + 2;
  }
  if (c === undefined || ((c === '-' || c === ']') && chars[at] !== '\\')) bad('bad character class');
  return { char: c!, next };
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function escapeClassChar(char: string): string {
  return /[\\\]^-]/.test(char) ? `\\${char}` : char;
}

/**
 * Expands directory arguments. A pattern without glob characters is used as it is, even when
 * missing, so that the store can report it. A glob yields the directories it matches (entries
 * that are not directories are skipped); a glob matching nothing yields the pattern itself, as
 * node_exporter does, so that the mistake is reported rather than silently reading nothing.
 * Duplicates across patterns are read once.
 */
export async function expandDirectoryPatterns(patterns: readonly string[]): Promise<PatternExpansion[]> {
  const seen = new Set<string>();
  const expansions: PatternExpansion[] = [];
  for (const pattern of patterns) {
    let directories: string[];
    let error: string | undefined;
    if (!hasGlobMeta(pattern)) {
      directories = [pattern];
    } else {
      try {
        directories = await globDirectories(pattern);
        if (directories.length === 0) directories = [pattern];
      } catch (caught) {
        if (!(caught instanceof GlobPatternError)) throw caught;
        error = caught.message;
        directories = [pattern];
      }
    }
    const fresh = directories.filter((directory) => !seen.has(directory));
    for (const directory of fresh) seen.add(directory);
    expansions.push(error === undefined ? { pattern, directories: fresh } : { pattern, directories: fresh, error });
  }
  return expansions;
}

/** filepath.Glob restricted to directories: expand element by element from the left. */
async function globDirectories(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith('/');
  const elements = pattern.split('/').filter((element, index) => element !== '' || index === 0);
  let bases: string[] = [absolute ? '/' : ''];
  for (const element of absolute ? elements.slice(1) : elements) {
    const next: string[] = [];
    if (!hasGlobMeta(element)) {
      for (const base of bases) next.push(base === '' ? element : join(base, element));
    } else {
      const matcher = compileGlobElement(element);
      for (const base of bases) {
        let names: string[];
        try {
          names = await readdir(base === '' ? '.' : base);
        } catch {
          continue; // Go's Glob ignores unreadable directories too
        }
        names.sort(compareBytes);
        for (const name of names) {
          if (matcher.test(name)) next.push(base === '' ? name : join(base, name));
        }
      }
    }
    bases = next;
    if (bases.length === 0) return [];
  }
  const directories: string[] = [];
  for (const candidate of bases) {
    const result = await statDirectory(candidate);
    if (result.ok) directories.push(candidate);
  }
  return directories;
}
