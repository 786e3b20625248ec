import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startHost, type Topology } from "@plexus/host";

async function loadTopology(file: string): Promise<Topology> {
  const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: Topology };
  const topology = module.default;
  if (!topology || !Array.isArray(topology.hosts)) {
    throw new TypeError(`${file} must export default defineTopology({...})`);
  }
  return topology;
}

/**
 * `plexus up <topology>`: starts the topology and runs until SIGTERM/SIGINT, then stops
 * gracefully (the host's lifecycle owns the exit code).
 */
export async function up(file: string): Promise<number> {
  const topology = await loadTopology(file);
  const [host, ...others] = topology.hosts;
  if (!host) throw new TypeError(`${file}: the topology has no hosts`);
  if (others.length > 0) {
    process.stderr.write("plexus up: multi-host topologies are not supported yet\n");
    return 2;
  }
  const started = await startHost({ spec: host });
  started.lifecycle.installSignalHandlers();
  return 0;
}
