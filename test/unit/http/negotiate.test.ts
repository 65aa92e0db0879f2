import { describe, expect, it } from 'vitest';
import {
  OPENMETRICS_0_0_1_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  acceptsGzip,
  negotiateFormat,
  parseAccept,
} from '../../../src/http/negotiate.js';

// Accept headers real scrapers send. Prometheus 2.42: the constant of scrape/scrape.go then.
// Prometheus 3.x: acceptHeader() of scrape/scrape.go over config.DefaultScrapeProtocols (and
// DefaultProtoFirstScrapeProtocols with native histograms), weights from 0.6 down, escaping
// added to the 1.0.0 formats (3.0 added it to every format; both are here).
const PROMETHEUS_2_42 = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_3 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const PROMETHEUS_3_NATIVE_HISTOGRAMS =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const PROMETHEUS_3_0 =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2';
/** scrape_protocols: [PrometheusText1.0.0, PrometheusText0.0.4] with UTF-8 names. */
const PROMETHEUS_3_TEXT_ONLY = 'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_PROTOBUF_FIRST =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1';
const CURL = '*/*';
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const TEXT_UNDERSCORES = `${TEXT_CONTENT_TYPE}; escaping=underscores`;
const OPENMETRICS_UNDERSCORES = `${OPENMETRICS_CONTENT_TYPE}; escaping=underscores`;

describe('negotiateFormat', () => {
  it('answers Prometheus 2.42 with OpenMetrics 1.0.0, names escaped with underscores', () => {
    expect(negotiateFormat(PROMETHEUS_2_42)).toEqual({ format: 'openmetrics', contentType: OPENMETRICS_UNDERSCORES, escaping: 'underscores' });
  });

  it.each([
    ['3.x', PROMETHEUS_3],
    ['3.x with native histograms (protobuf first, which promdrop does not write)', PROMETHEUS_3_NATIVE_HISTOGRAMS],
    ['3.0', PROMETHEUS_3_0],
  ])('answers Prometheus %s with OpenMetrics 1.0.0 and UTF-8 names', (_, accept) => {
    expect(negotiateFormat(accept)).toEqual({
      format: 'openmetrics',
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8',
      escaping: 'allow-utf-8',
    });
  });

  it('skips text 1.0.0, which expfmt does not match, and answers text 0.0.4 with the escaping the skipped range asked for', () => {
    // expfmt keeps the escaping parameter of every range it looks at, matched or not.
    expect(negotiateFormat(PROMETHEUS_3_TEXT_ONLY)).toEqual({
      format: 'text',
      contentType: 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8',
      escaping: 'allow-utf-8',
    });
  });

  it('skips protobuf and takes the next preference', () => {
    expect(negotiateFormat(PROMETHEUS_PROTOBUF_FIRST).format).toBe('openmetrics');
  });

  it('answers text 0.0.4 with underscores to curl, browsers and requests without Accept', () => {
    for (const accept of [CURL, FIREFOX, undefined, '']) {
      expect(negotiateFormat(accept).contentType).toBe(TEXT_UNDERSCORES);
    }
  });

  // client_golang's promhttp tests and expfmt's encode_test send these.
  it.each([
    ['text/plain;version=0.0.4;escaping=underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['text/plain;version=0.0.4;escaping=dots', 'text/plain; version=0.0.4; charset=utf-8; escaping=dots'],
    ['text/plain;version=0.0.4;escaping=values', 'text/plain; version=0.0.4; charset=utf-8; escaping=values'],
    ['text/plain;version=0.0.4;escaping=allow-utf-8', 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8'],
    ['text/plain;version=0.0.4;escaping=nonsense', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['application/openmetrics-text;version=0.0.1;escaping=values', 'application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=values'],
    ['application/openmetrics-text;escaping=dots', 'application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=dots'],
    ['*/*;escaping=allow-utf-8', 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8'],
  ])('Accept %s is answered with %s', (accept, contentType) => {
    expect(negotiateFormat(accept).contentType).toBe(contentType);
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
    expect(negotiateFormat('application/openmetrics-text').contentType).toBe(`${OPENMETRICS_0_0_1_CONTENT_TYPE}; escaping=underscores`);
    expect(negotiateFormat('application/openmetrics-text; version=0.0.1').contentType).toBe(`${OPENMETRICS_0_0_1_CONTENT_TYPE}; escaping=underscores`);
  });

  it('does not serve an OpenMetrics version it does not know', () => {
    expect(negotiateFormat('application/openmetrics-text;version=2.0.0').format).toBe('text');
  });

  it('treats q=0 as "not acceptable"', () => {
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.1').format).toBe('text');
  });

  it('reads media types case-insensitively and tolerates blanks and quoted parameters', () => {
    expect(negotiateFormat(' Application/OpenMetrics-Text ; Version="1.0.0" ; q=1 ').contentType).toBe(OPENMETRICS_UNDERSCORES);
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
