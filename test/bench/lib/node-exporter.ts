// node_exporter as a benchmark peer: textfile collector only, on 127.0.0.1, with its memory and
// CPU readable while it runs (the issue 3 comparisons need its peak RSS and idle CPU).
import { requireProgram, startNodeExporter, PEERS, type RunningProcess } from '../../helpers/peers.js';
import { readProcessCpu, readProcessMemory, type ProcessCpu, type ProcessMemory } from './proc.js';

export interface BenchNodeExporter {
  /** The scrape URL. */
  readonly url: string;
  memory(): ProcessMemory | undefined;
  cpu(): ProcessCpu | undefined;
  stop(): Promise<void>;
}

export async function startTextfileNodeExporter(directory: string): Promise<BenchNodeExporter> {
  const binary = requireProgram(PEERS.nodeExporter, 'prometheus-node-exporter');
  if (binary === undefined) throw new Error(`${PEERS.nodeExporter} is not installed (apt-get install prometheus-node-exporter)`);
  const running: RunningProcess = await startNodeExporter(binary, directory);
  const pid = running.child.pid;
  return {
    url: `${running.url}/metrics`,
    memory: () => (pid === undefined ? undefined : readProcessMemory(pid)),
    cpu: () => (pid === undefined ? undefined : readProcessCpu(pid)),
    stop: () => running.stop(),
  };
}
