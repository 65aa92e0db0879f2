// Grouping keys from push URLs, against the Pushgateway 1.5.1 transcript in
// ../shared/reference/pushgateway.md §3 (status 400 texts verbatim where the Pushgateway's are).
import { describe, expect, it } from 'vitest';
import { escapeName } from '../../../src/core/escaping.js';
import { canonicalKey, parseGroupingPath } from '../../../src/core/grouping-key.js';

function labels(path: string): Record<string, string> {
  const parsed = parseGroupingPath(path);
  if (!parsed.ok) throw new Error(parsed.message);
  const out: Record<string, string> = {};
  for (let i = 0; i < parsed.key.labels.length; i += 2) out[parsed.key.labels[i]!] = parsed.key.labels[i + 1]!;
  return out;
}

function error(path: string): string {
  const parsed = parseGroupingPath(path);
  if (parsed.ok) throw new Error(`${path} was accepted`);
  return parsed.message;
}

describe('grouping keys', () => {
  it('reads the job and the label pairs, in any order, as one key', () => {
    expect(labels('job/j2/instance/i1/env/prod')).toEqual({ job: 'j2', instance: 'i1', env: 'prod' });
    const a = parseGroupingPath('job/j/instance/i1/env/prod');
    const b = parseGroupingPath('job/j/env/prod/instance/i1');
    expect(a.ok && b.ok && canonicalKey(a.key) === canonicalKey(b.key)).toBe(true);
  });

  it('decodes base64url values with or without padding, and = as the empty value', () => {
    expect(labels('job/j/path@base64/L3Zhci90bXA')).toEqual({ job: 'j', path: '/var/tmp' });
    expect(labels('job/j/path@base64/L3Zhci90bXA=')).toEqual({ job: 'j', path: '/var/tmp' });
    expect(labels('job/j/foo@base64/=')).toEqual({ job: 'j', foo: '' });
    expect(labels('job@base64/ZGlyL2pvYg')).toEqual({ job: 'dir/job' });
  });

  it('keeps a trailing empty value and a literal +, and lets the job segment win over a job pair', () => {
    expect(labels('job/j/bar/')).toEqual({ job: 'j', bar: '' });
    expect(labels('job/j/instance/h+1')).toEqual({ job: 'j', instance: 'h+1' });
    expect(labels('job/j/job/other')).toEqual({ job: 'j' });
  });

  it('refuses what the Pushgateway refuses, with its words', () => {
    expect(error('job@base64/=')).toBe('job name is required');
    expect(error('job@base64/!!')).toBe('invalid base64 encoding in job name "!!": illegal base64 data at input byte 0');
    expect(error('job/j/a@base64/!!')).toBe('invalid base64 encoding for label a="!!": illegal base64 data at input byte 0');
    expect(error('job/j5/instance')).toBe('odd number of components in label string "/instance"');
    expect(error('job/j/path/a/b')).toBe('odd number of components in label string "/path/a/b"');
    expect(error('job/j/__foo/bar')).toBe('improper label name "__foo"');
    expect(error('job/j/a-b/bar')).toBe('improper label name "a-b"');
    expect(error('job/j/1abc/bar')).toBe('improper label name "1abc"');
  });

  it('refuses a base64 value that is not UTF-8 instead of storing a group that breaks scrapes (B1)', () => {
    expect(error('job/j/b@base64/-_8')).toMatch(/not valid UTF-8/);
  });
});

describe('grouping keys with UTF-8 label names (Pushgateway 1.11, --push.enable-utf8-names)', () => {
  it('reads a U__ label name as the UTF-8 name it encodes', () => {
    const parsed = parseGroupingPath('job/j/U__http_2e_method/GET/instance/i1', { utf8Names: true });
    expect(parsed.ok && parsed.key.labels).toEqual(['http.method', 'GET', 'instance', 'i1', 'job', 'j']);
  });

  it('decodes base64 values of U__ names too', () => {
    const parsed = parseGroupingPath(`job/j/U__my_2e_path@base64/${Buffer.from('/var/tmp').toString('base64url')}`, { utf8Names: true });
    expect(parsed.ok && parsed.key.labels).toEqual(['job', 'j', 'my.path', '/var/tmp']);
  });

  it('keeps U__ as a literal legacy name without the flag, as the Pushgateway does', () => {
    const parsed = parseGroupingPath('job/j/U__http_2e_method/GET');
    expect(parsed.ok && parsed.key.labels).toEqual(['U__http_2e_method', 'GET', 'job', 'j']);
  });

  it('still refuses reserved names, whatever their encoding', () => {
    const parsed = parseGroupingPath(`job/j/${escapeName('__x.y', 'values')}/1`, { utf8Names: true });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toBe('improper label name "__x.y"');
  });
});
