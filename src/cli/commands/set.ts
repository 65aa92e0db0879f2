// `promdrop set FILE METRIC VALUE`: one series of a textfile, created or replaced, every other
// series of the file kept. Safe against concurrent writers of the same file (it locks).
import type { Command } from 'commander';
import { parseGoFloat } from '../../core/float.js';
import { setSeries } from '../../fs/textfile-edit.js';
import { addSeriesOptions, addStrictOption, addWriterOptions, editOneSeries, parseSampleValue, type SeriesOptions } from '../writer-options.js';

const EXAMPLES = `
Examples:
  # record when the backup last finished, in /var/lib/promdrop/backup.prom
  promdrop set backup backup_last_success_timestamp_seconds "$(date +%s)"

  # one series per volume in the same file; the other volumes' series are kept
  promdrop set backup backup_size_bytes 1.2e9 -l volume=home --help "Size of the last backup."
  promdrop set backup backup_size_bytes 3.4e9 -l volume=srv

  # a counter's absolute value
  promdrop set mail mail_sent_total 1024 --type counter

Created families are gauges unless --type says otherwise; an existing family keeps its TYPE
(a different --type is refused). Writes are atomic and locked, so cron jobs can run at once.`;

export function registerSet(program: Command): void {
  const command = program
    .command('set')
    .description('create or update one series in FILE.prom, keeping every other series')
    .argument('<FILE>', 'file name in the textfile directory (".prom" is added when missing)')
    .argument('<METRIC>', 'metric name')
    .argument('<VALUE>', 'sample value (Go syntax: 42, -1.5, 1e9, NaN, +Inf)');
  addSeriesOptions(command, 'gauge');
  addStrictOption(addWriterOptions(command, true))
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, metric: string, valueText: string, options: SeriesOptions) => {
      const value = parseSampleValue(valueText, 'value', parseGoFloat);
      await editOneSeries(file, metric, options, { value }, setSeries);
    });
}
