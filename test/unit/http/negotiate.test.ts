import { describe, expect, it } from 'vitest';
import {
  OPENMETRICS_0_0_1_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  acceptsGzip,
  negotiateFormat,
  parseAccept,
} from '../../../src/http/negotiate.js';

// Accept headers real scrapers send (exposition-format.md §8, ecosystem.md §1.5).
const PROMETHEUS_2_42 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const PROMETHEUS_3_TEXT_ONLY = 'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_PROTOBUF_FIRST =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1';
const CURL = '*/*';
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('negotiateFormat', () => {
  it('answers Prometheus 2.42 with OpenMetrics 1.0.0', () => {
    expect(negotiateFormat(PROMETHEUS_2_42)).toEqual({ format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE });
  });

  it('answers Prometheus 3 (UTF-8 escaping parameters, q-weights) with OpenMetrics 1.0.0', () => {
    expect(negotiateFormat(PROMETHEUS_3).contentType).toBe(OPENMETRICS_CONTENT_TYPE);
  });

  it('skips text 1.0.0, which it cannot produce, and answers text 0.0.4', () => {
    expect(negotiateFormat(PROMETHEUS_3_TEXT_ONLY)).toEqual({ format: 'text', contentType: TEXT_CONTENT_TYPE });
  });

  it('skips protobuf and takes the next preference', () => {
    expect(negotiateFormat(PROMETHEUS_PROTOBUF_FIRST).format).toBe('openmetrics');
  });

  it('answers text 0.0.4 to curl, browsers and requests without Accept', () => {
    for (const accept of [CURL, FIREFOX, undefined, '']) {
      expect(negotiateFormat(accept).contentType).toBe(TEXT_CONTENT_TYPE);
    }
  });

  it('follows q-values, not header order', () => {
    expect(negotiateFormat('text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.7').format).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=0.0.4;q=0.9').format).toBe('text');
  });

  it('keeps header order between equal q-values', () => {
    expect(negotiateFormat('text/plain,application/openmetrics-text;version=1.0.0').format).toBe('text');
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain').format).toBe('openmetrics');
  });

  it('labels OpenMetrics without a version, or 0.0.1, as 0.0.1 (as expfmt does)', () => {
    expect(negotiateFormat('application/openmetrics-text').contentType).toBe(OPENMETRICS_0_0_1_CONTENT_TYPE);
    expect(negotiateFormat('application/openmetrics-text; version=0.0.1').contentType).toBe(OPENMETRICS_0_0_1_CONTENT_TYPE);
  });

  it('does not serve an OpenMetrics version it does not know', () => {
    expect(negotiateFormat('application/openmetrics-text;version=2.0.0').format).toBe('text');
  });

  it('treats q=0 as "not acceptable"', () => {
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.1').format).toBe('text');
  });

  it('reads media types case-insensitively and tolerates blanks and quoted parameters', () => {
    expect(negotiateFormat(' Application/OpenMetrics-Text ; Version="1.0.0" ; q=1 ').contentType).toBe(OPENMETRICS_CONTENT_TYPE);
  });

  it('falls back to text on garbage', () => {
    for (const accept of [';;;', ',,,', 'nonsense', 'application/openmetrics-text;q=abc', '/']) {
      expect(negotiateFormat(accept).format).toBe('text');
    }
  });
});

describe('parseAccept', () => {
  it('orders by q, then specific before wildcard, then header order', () => {
    const ranges = parseAccept('*/*;q=0.5,text/*;q=0.5,text/plain;q=0.5,application/json');
    expect(ranges.map((range) => `${range.type}/${range.subtype}`)).toEqual(['application/json', 'text/plain', 'text/*', '*/*']);
  });

  it('reads a bare "*" as */*', () => {
    expect(parseAccept('*').map((range) => `${range.type}/${range.subtype}`)).toEqual(['*/*']);
  });
});

describe('acceptsGzip', () => {
  it('accepts what Prometheus, curl --compressed and browsers send', () => {
    for (const header of ['gzip', 'deflate, gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.8, *;q=0.1', 'x-gzip']) {
      expect(acceptsGzip(header)).toBe(true);
    }
  });

  it('refuses when gzip is absent or has q=0', () => {
    for (const header of [undefined, '', 'identity', 'br', 'deflate', 'gzip;q=0', 'gzip;q=0, *;q=1', 'GZIP;Q=0']) {
      expect(acceptsGzip(header)).toBe(false);
    }
  });

  it('accepts gzip through a wildcard unless gzip itself is refused', () => {
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0')).toBe(false);
  });
});
