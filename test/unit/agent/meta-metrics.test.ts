import { describe, expect, it } from 'vitest';
import { buildMetaFamilies, isReservedMetricName } from '../../../src/agent/meta-metrics.js';
import { renderText } from '../../../src/core/render.js';

// 2026-11-20T22:38:14.5Z: node_exporter prints the whole seconds as Go's %g, e.g. 1.795215094e+09.
const MTIME_NS = 1_795_215_094_500_000_000n;

describe('buildMetaFamilies', () => {
  it('renders node_textfile_* exactly as node_exporter 1.5.0 does for good files', () => {
    const text = renderText(buildMetaFamilies([{ path: '/var/lib/promdrop/good.prom', served: true, servedMtimeNs: MTIME_NS, errorReason: undefined }], []));
    expect(text).toContain(
      '# HELP node_textfile_mtime_seconds Unixtime mtime of textfiles successfully read.\n' +
        '# TYPE node_textfile_mtime_seconds gauge\n' +
        'node_textfile_mtime_seconds{file="/var/lib/promdrop/good.prom"} 1.795215094e+09\n' +
        '# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n' +
        '# TYPE node_textfile_scrape_error gauge\n' +
        'node_textfile_scrape_error 0\n',
    );
    expect(text).toContain('promdrop_textfile_up{file="/var/lib/promdrop/good.prom"} 1\n');
    expect(text).not.toContain('promdrop_textfile_error');
  });

  it('leaves out the mtime of files that are not served and raises scrape_error for them', () => {
    const text = renderText(
      buildMetaFamilies(
        [
          { path: '/d/a.prom', served: true, servedMtimeNs: MTIME_NS, errorReason: undefined },
          { path: '/d/b.prom', served: false, servedMtimeNs: undefined, errorReason: 'parse' },
        ],
        [],
      ),
    );
    expect(text).not.toContain('node_textfile_mtime_seconds{file="/d/b.prom"}');
    expect(text).toContain('node_textfile_scrape_error 1\n');
    expect(text).toContain('promdrop_textfile_error{file="/d/b.prom",reason="parse"} 1\n');
    expect(text).toContain('promdrop_textfile_up{file="/d/b.prom"} 0\n');
  });

  it('counts a conflict of a served file as an error too (unlike node_exporter)', () => {
    const text = renderText(buildMetaFamilies([{ path: '/d/b.prom', served: true, servedMtimeNs: MTIME_NS, errorReason: 'conflict' }], []));
    expect(text).toContain('node_textfile_mtime_seconds{file="/d/b.prom"}');
    expect(text).toContain('node_textfile_scrape_error 1\n');
    expect(text).toContain('promdrop_textfile_up{file="/d/b.prom"} 1\n');
  });

  it('shows only scrape_error when there are no files, like node_exporter', () => {
    expect(renderText(buildMetaFamilies([], []))).toBe(
      '# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n# TYPE node_textfile_scrape_error gauge\nnode_textfile_scrape_error 0\n',
    );
  });

  it('reports unreadable directories and counts them as an error', () => {
    const text = renderText(
      buildMetaFamilies(
        [],
        [
          { path: '/missing', ok: false },
          { path: '/d', ok: true },
        ],
      ),
    );
    expect(text).toContain('node_textfile_scrape_error 1\n');
    expect(text).toContain('promdrop_textfile_directory_up{directory="/d"} 1\n');
    expect(text).toContain('promdrop_textfile_directory_up{directory="/missing"} 0\n');
  });

  it('keeps families sorted by name so they can be merged into the output in order', () => {
    const names = buildMetaFamilies([{ path: '/d/b.prom', served: false, servedMtimeNs: undefined, errorReason: 'io' }], [{ path: '/d', ok: true }]).map(
      (f) => f.name,
    );
    expect(names).toEqual([...names].sort());
  });

  it('whole seconds truncate toward zero, as Go integer division does', () => {
    const text = renderText(buildMetaFamilies([{ path: '/d/a.prom', served: true, servedMtimeNs: 1_999_999_999n, errorReason: undefined }], []));
    expect(text).toContain('node_textfile_mtime_seconds{file="/d/a.prom"} 1\n');
  });
});

describe('isReservedMetricName', () => {
  it('reserves the meta metrics and the promdrop_ prefix, nothing else', () => {
    expect(isReservedMetricName('node_textfile_scrape_error')).toBe(true);
    expect(isReservedMetricName('node_textfile_mtime_seconds')).toBe(true);
    expect(isReservedMetricName('promdrop_anything')).toBe(true);
    expect(isReservedMetricName('node_textfile_other')).toBe(false);
    expect(isReservedMetricName('backup_last_success_timestamp_seconds')).toBe(false);
  });
});
