import { describe, expect, it } from 'vitest';
import { formatLogfmt } from '../../../src/log/logfmt.js';
import { createLogger, httpLogLevel } from '../../../src/log/logger.js';

describe('formatLogfmt', () => {
  it('puts ts, level and msg first, then the other fields in order', () => {
    const line = formatLogfmt({ file: '/var/lib/promdrop/a.prom', level: 'warn', msg: 'file became invalid', ts: '2026-11-20T12:00:00.000Z', reason: 'parse' });
    expect(line).toBe('ts=2026-11-20T12:00:00.000Z level=warn msg="file became invalid" file=/var/lib/promdrop/a.prom reason=parse');
  });

  it('quotes and escapes values as go-logfmt does', () => {
    expect(formatLogfmt({ a: 'two words', b: 'x=y', c: 'say "hi"', d: 'back\\slash', e: 'line\nbreak\ttab', f: '' })).toBe(
      'a="two words" b="x=y" c="say \\"hi\\"" d="back\\\\slash" e="line\\nbreak\\ttab" f=""',
    );
  });

  it('escapes control characters and keeps other Unicode as it is', () => {
    expect(formatLogfmt({ a: 'bell\u0007', b: 'héllo✓' })).toBe('a="bell\\u0007" b=héllo✓');
  });

  it('writes numbers, booleans and null bare, objects as quoted JSON', () => {
    expect(formatLogfmt({ n: 42, f: 1.5, t: true, z: null, o: { k: 'v' }, l: [1, 2] })).toBe('n=42 f=1.5 t=true z=null o="{\\"k\\":\\"v\\"}" l=[1,2]');
  });

  it("writes an error's message, not its stack", () => {
    expect(formatLogfmt({ err: { type: 'Error', message: 'EACCES: permission denied', stack: 'Error: EACCES\n    at x' } })).toBe(
      'err="EACCES: permission denied"',
    );
  });

  it('makes keys safe instead of dropping fields', () => {
    expect(formatLogfmt({ 'a key': 1, 'k=v': 2, '': 3 })).toBe('a_key=1 k_v=2 _=3');
  });
});

describe('createLogger', () => {
  function capture(
    format: 'logfmt' | 'json',
    level: 'debug' | 'info' | 'warn' | 'error' = 'info',
  ): { lines: string[]; logger: ReturnType<typeof createLogger> } {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level, format, write: (line) => lines.push(line) }) };
  }

  it('writes promslog-style logfmt lines', () => {
    const { lines, logger } = capture('logfmt');
    logger.warn({ file: '/d/a b.prom', reason: 'parse' }, 'file became invalid');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=warn msg="file became invalid" file="\/d\/a b\.prom" reason=parse\n$/);
  });

  it('writes one JSON object per line with ts and a level name', () => {
    const { lines, logger } = capture('json');
    logger.error({ file: 'x' }, 'boom');
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'error', msg: 'boom', file: 'x' });
    expect(typeof record['ts']).toBe('string');
    expect(record).not.toHaveProperty('pid');
    expect(record).not.toHaveProperty('hostname');
  });

  it('drops messages below the level', () => {
    const { lines, logger } = capture('logfmt', 'warn');
    logger.debug({}, 'no');
    logger.info({}, 'no');
    logger.warn({}, 'yes');
    logger.error({}, 'yes');
    expect(lines.map((line) => /msg=(\S+)/.exec(line)?.[1])).toEqual(['yes', 'yes']);
  });

  it("keeps fastify's per-request info lines out, whatever the level", () => {
    expect(httpLogLevel('debug')).toBe('warn');
    expect(httpLogLevel('info')).toBe('warn');
    expect(httpLogLevel('error')).toBe('error');
  });
});
