// `promdrop cat`: the exposition exactly as `promdrop serve` would answer a scrape of the same
// directories right now (served files merged, conflicts resolved, meta metrics added), without
// starting a server. Useful to see what Prometheus would get, or to diff before a migration.
import type { Command } from 'commander';
import { EXIT_INVALID, EXIT_OK } from '../exit-codes.js';
import { addViewOptions, loadView, type ViewOptions } from './list.js';

interface CatOptions extends ViewOptions {
  readonly openmetrics: boolean;
}

const EXAMPLES = `
Exit status: 0, or 1 when a directory cannot be read (the output is still printed).

The output includes node_textfile_mtime_seconds, node_textfile_scrape_error and the
promdrop_textfile_* metrics, as the agent serves them; problems are in \`promdrop list\`.

Examples:
  $ promdrop cat
  $ promdrop cat -d /var/lib/prometheus/node-exporter | promtool check metrics
  $ promdrop cat --openmetrics | tail -n 3`;

export function registerCat(program: Command): void {
  addViewOptions(
    program
      .command('cat')
      .description('print the merged exposition the agent would serve for the textfile directories')
      .option('--openmetrics', 'print OpenMetrics 1.0.0 instead of text format 0.0.4', false),
  )
    .addHelpText('after', EXAMPLES)
    .action(async (options: CatOptions) => {
      const snapshot = await loadView(options);
      process.stdout.write(options.openmetrics ? snapshot.openMetrics() : snapshot.text);
      // The exposition is still what the agent would serve (with node_textfile_scrape_error 1),
      // but a directory that cannot be read is most often a typo in -d: say so and fail.
      const unreadable = snapshot.directories.filter((directory) => !directory.ok);
      for (const directory of unreadable) process.stderr.write(`promdrop: directory ${directory.path}: ${directory.message ?? 'cannot be read'}\n`);
      process.exitCode = unreadable.length === 0 ? EXIT_OK : EXIT_INVALID;
    });
}
