import { describe, expect, it } from 'vitest';
import { readDirectives } from '../../../src/core/directives.js';

const read = (text: string) => readDirectives(Buffer.from(text, 'utf8'));

describe('readDirectives', () => {
  it('reads a ttl in Prometheus duration syntax', () => {
    expect(read('# promdrop: ttl=15m\nm 1\n')).toEqual({ ttlMs: 15 * 60_000, findings: [] });
    expect(read('m 1\n# promdrop: ttl=1h30m\n').ttlMs).toBe(90 * 60_000);
    expect(read('# promdrop: ttl=7d\n').ttlMs).toBe(7 * 24 * 3_600_000);
  });

  it('accepts the spacing expfmt accepts around a comment token', () => {
    expect(read('#promdrop: ttl=90s\n').ttlMs).toBe(90_000);
    expect(read('  \t#  \tpromdrop:   ttl=90s  \n').ttlMs).toBe(90_000);
    expect(read('# promdrop:ttl=90s\n').ttlMs).toBe(90_000);
  });

  it('leaves files without directives alone', () => {
    expect(read('')).toEqual({ findings: [] });
    expect(read('# HELP m promdrop: ttl=1h is not a directive here\n# TYPE m gauge\nm 1\n')).toEqual({ findings: [] });
    expect(read('m{note="# promdrop: ttl=1h"} 1\n')).toEqual({ findings: [] });
    expect(read('# a comment mentioning promdrop: ttl=1h\n')).toEqual({ findings: [] });
    // Case matters, as for HELP and TYPE: this is a plain comment.
    expect(read('# PROMDROP: ttl=1h\n')).toEqual({ findings: [] });
  });

  it('finds a directive after lines with a # that is not one, and ignores a # at the very end', () => {
    expect(read('m{a="#",b="# promdrop: ttl=1h"} 1\n# HELP x a # b\n#\n# promdrop: ttl=1m\n').ttlMs).toBe(60_000);
    expect(read('m 1\n# promdrop: ttl=1m\n#')).toEqual({ ttlMs: 60_000, findings: [] });
    expect(read('m 1\n# promdrop')).toEqual({ findings: [] });
  });

  it('reports a malformed ttl with its line and the column of the value', () => {
    const result = read('m 1\n# promdrop: ttl=15 minutes\n');
    expect(result.ttlMs).toBeUndefined();
    expect(result.findings).toHaveLength(2);
    expect(result.findings[0]).toMatchObject({ severity: 'error', reason: 'directive', line: 2, column: 17 });
    expect(result.findings[0]!.message).toContain('invalid ttl "15"');
    // "minutes" is a second item without "=".
    expect(result.findings[1]).toMatchObject({ line: 2, column: 20 });
  });

  it('rejects unknown keys, a zero ttl, a second ttl and an empty directive', () => {
    expect(read('# promdrop: tll=1h\n').findings[0]).toMatchObject({
      line: 1,
      column: 13,
      message: expect.stringContaining('unknown promdrop directive "tll"'),
    });
    expect(read('# promdrop: ttl=0\n').findings[0]!.message).toContain('longer than 0s');
    const twice = read('# promdrop: ttl=1h\nm 1\n# promdrop: ttl=2h\n');
    expect(twice.ttlMs).toBe(3_600_000);
    expect(twice.findings).toEqual([expect.objectContaining({ line: 3, message: expect.stringContaining('first is on line 1') })]);
    expect(read('# promdrop:\n').findings[0]).toMatchObject({ line: 1, message: expect.stringContaining('empty promdrop directive') });
  });

  it('counts lines correctly across many directives in a large file', () => {
    const lines: string[] = [];
    for (let i = 0; i < 5_000; i++) lines.push(`m{i="${i}"} 1`);
    lines.push('# promdrop: ttl=bad');
    lines.push('# promdrop: ttl=5m');
    const result = read(`${lines.join('\n')}\n`);
    expect(result.ttlMs).toBe(300_000);
    expect(result.findings).toEqual([expect.objectContaining({ line: 5_001 })]);
  });

  it('reads a Uint8Array view that is not a Buffer', () => {
    const bytes = new TextEncoder().encode('xx# promdrop: ttl=2m\n');
    expect(readDirectives(bytes.subarray(2)).ttlMs).toBe(120_000);
  });
});
