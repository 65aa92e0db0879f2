// The scenario registry. A later issue's benchmark is a module in this directory exporting a
// Scenario, added here; `npm run bench -- <name>` runs it alone.
//   issue 3 (agent: scrape latency/throughput vs node_exporter and the static server),
//   issue 4 (writer: wall time vs `node -e 0` and sponge),
//   issue 6 (push: pushes/s and latency vs the Pushgateway),
//   issue 16 (executable: the single executable's start-up and size).
import type { Scenario } from '../scenario.js';
import { parseScenario } from './parse.js';
import { smokeScenario } from './smoke.js';
import { agentScenario } from './agent.js';
import { writerScenario } from './writer.js';
import { pushScenario } from './push.js';
import { executableScenario } from './executable.js';

export const SCENARIOS: readonly Scenario[] = [parseScenario, smokeScenario, agentScenario, writerScenario, pushScenario, executableScenario];
