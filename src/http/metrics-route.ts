// The scrape endpoint. A scrape never renders the textfiles: it takes the current snapshot
// (shared by every concurrent scrape; the source first reads whatever changed since the last one,
// so that a writer's rename is seen at once), picks the format and encoding the scraper prefers,
// and writes the snapshot's cached bytes followed by a small per-scrape fragment: the textfile
// collector's node_scrape_collector_* gauges, then the agent's own metrics. Textfiles first, as
// node_exporter's output reads; OpenMetrics' `# EOF` is taken off the snapshot's body and put
// after the fragment. With gzip, the fragment is compressed per scrape as the end of the DEFLATE
// stream whose start is the snapshot's body compressed once (gzip-splice.ts), so the big body is
// compressed once per snapshot, not once per scrape.
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { gzipSync } from 'node:zlib';
import { formatGoFloat } from '../core/float.js';
import { withoutEof } from '../core/render.js';
import { gzipWithSuffix } from './gzip-splice.js';
import { collectorFilter } from './collector-filter.js';
import { acceptsGzip, negotiateFormat, type ExpositionFormat } from './negotiate.js';
import type { Snapshot, SnapshotSource } from './snapshot-source.js';

/** What the scrape endpoint needs from the agent's self metrics (src/program/self-metrics.ts);
 *  the unit tests of this layer substitute it. */
export interface SelfMetricsSource {
  /** The self metrics as a body fragment in `format`, without OpenMetrics' `# EOF`. */
  render(format: ExpositionFormat, snapshot: Snapshot): Promise<Buffer>;
  scrapeStarted(): void;
  scrapeFinished(format: ExpositionFormat, gzip: boolean, durationSeconds: number): void;
  scrapeRejected(): void;
}

export interface MetricsRouteOptions {
  readonly path: string;
  readonly source: SnapshotSource;
  readonly selfMetrics: SelfMetricsSource;
  /** node_exporter's --web.max-requests: scrapes in flight beyond this get 503; 0 = no limit. */
  readonly maxRequests: number;
}

const VARY = 'Accept, Accept-Encoding';
const OPENMETRICS_EOF = Buffer.from('# EOF\n');

export const metricsRoute: FastifyPluginCallback<MetricsRouteOptions> = (app, options, done) => {
  const { source, selfMetrics, maxRequests } = options;
  let inFlight = 0;
  const limitMessage = `Limit of concurrent requests reached (${maxRequests}), try again later.\n`;

  async function scrape(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (maxRequests > 0 && inFlight >= maxRequests) {
      // promhttp's answer to the same condition, word for word.
      selfMetrics.scrapeRejected();
      await reply.code(503).type('text/plain; charset=utf-8').send(limitMessage);
      return;
    }
    const filter = collectorFilter(request.query);
    if (!filter.ok) {
      await reply.code(400).type('text/plain; charset=utf-8').send(`${filter.message}\n`);
      return;
    }
    const started = process.hrtime.bigint();
    const negotiated = negotiateFormat(request.headers.accept);
    const gzip = acceptsGzip(request.headers['accept-encoding']);
    const response = reply.raw;
    inFlight++;
    selfMetrics.scrapeStarted();
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      inFlight--;
      selfMetrics.scrapeFinished(negotiated.format, gzip, Number(process.hrtime.bigint() - started) / 1e9);
    };
    // Registered before the first await: a scraper that hangs up while the snapshot is being
    // checked must still leave the in-flight count.
    response.once('close', finish);
    try {
      const snapshot = await source.snapshot();
      const collected = process.hrtime.bigint();
      const own = await selfMetrics.render(negotiated.format, snapshot);
      const eof = negotiated.format === 'openmetrics' ? [OPENMETRICS_EOF] : [];
      let chunks: Buffer[];
      if (!filter.textfile) {
        // exclude[]=textfile: the agent's own metrics only (OpenMetrics still ends with # EOF),
        // and, as node_exporter does for a collector left out, no node_scrape_collector_* for it.
        const alone = Buffer.concat([own, ...eof]);
        chunks = [gzip ? gzipSync(alone) : alone];
      } else {
        const tail = Buffer.concat([collectorFragment(Number(collected - started) / 1e9), own, ...eof]);
        chunks = gzip
          ? gzipWithSuffix(await snapshot.deflated(negotiated.format, negotiated.escaping), tail)
          : [...withoutEof(negotiated.format, snapshot.body(negotiated.format, negotiated.escaping)), tail];
      }
      // Written straight to the socket: fastify's send() takes one payload, and joining the
      // chunks would copy a body that can be tens of megabytes (on every scrape, or once per
      // snapshot but then held twice).
      reply.hijack();
      let length = 0;
      for (const chunk of chunks) length += chunk.length;
      const headers: Record<string, string | number> = {
        'Content-Type': negotiated.contentType,
        'Content-Length': length,
        Vary: VARY,
      };
      if (gzip) headers['Content-Encoding'] = 'gzip';
      response.writeHead(200, headers);
      // Node sends the headers with the first chunk.
      for (let i = 0; i < chunks.length - 1; i++) if (chunks[i]!.length > 0) response.write(chunks[i]);
      response.end(chunks[chunks.length - 1]);
    } catch (error) {
      finish();
      throw error;
    }
  }

  app.get(options.path, scrape);
  done();
};

/**
 * node_exporter's per-collector gauges for the one collector the agent replaces, with its HELP
 * text word for word: success is 1 when the snapshot could be had (otherwise the scrape fails
 * as a whole), and the duration is what this scrape spent getting it. Text 0.0.4 and OpenMetrics
 * read the same for gauges.
 */
function collectorFragment(durationSeconds: number): Buffer {
  return Buffer.from(
    '# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape.\n' +
      '# TYPE node_scrape_collector_duration_seconds gauge\n' +
      `node_scrape_collector_duration_seconds{collector="textfile"} ${formatGoFloat(durationSeconds)}\n` +
      '# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded.\n' +
      '# TYPE node_scrape_collector_success gauge\n' +
      'node_scrape_collector_success{collector="textfile"} 1\n',
  );
}
