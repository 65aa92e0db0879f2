// `promdrop inc FILE METRIC [DELTA]`: adds to one series under the file's lock, so that any
// number of concurrent jobs counting into the same counter never lose an increment.
import type { Command } from 'commander';
import { parseGoFloat } from '../../core/float.js';
import { addToSeries } from '../../fs/textfile-edit.js';
import { addSeriesOptions, addStrictOption, addWriterOptions, editOneSeries, parseSampleValue, type SeriesOptions } from '../writer-options.js';

const EXAMPLES = `
Examples:
  # count processed mails, from any number of concurrent jobs
  promdrop inc mail mail_processed_total

  # add 42 to one labelled series
  promdrop inc mail mail_bytes_total 42 -l queue=outgoing --help "Bytes sent."

  # a gauge may go down
  promdrop inc queue queue_length -3 --type gauge

A series that does not exist yet starts at 0. Created families are counters unless --type
says otherwise, and a counter refuses a negative DELTA.`;

export function registerInc(program: Command): void {
  const command = program
    .command('inc')
    .description('add DELTA (default 1) to one series in FILE.prom, keeping every other series')
    .argument('<FILE>', 'file name in the textfile directory (".prom" is added when missing)')
    .argument('<METRIC>', 'metric name')
    .argument('[DELTA]', 'amount to add (Go syntax: 1, 0.5, -3, 1e3)', '1');
  addSeriesOptions(command, 'counter');
  addStrictOption(addWriterOptions(command, true))
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, metric: string, deltaText: string, options: SeriesOptions) => {
      const delta = parseSampleValue(deltaText, 'DELTA', (text) => {
        const value = parseGoFloat(text);
        return value !== undefined && Number.isFinite(value) ? value : undefined;
      });
      await editOneSeries(file, metric, options, { delta }, addToSeries);
    });
}
