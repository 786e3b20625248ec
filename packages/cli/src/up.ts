import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { StartupError } from "@plexus/core";
import { startHost, type Topology } from "@plexus/host";
import { reportFailure } from "./report-failure.ts";

async function loadTopology(file: string): Promise<Topology> {
  const path = resolve(file);
  await access(path).catch((error: unknown) => {
    throw new StartupError(
      `cannot read the topology ${file}`,
      "check the path: plexus up <topology.ts>",
      { cause: error },
    );
  });
  const module = (await import(pathToFileURL(path).href)) as { default?: Topology };
  const topology = module.default;
  if (!topology || !Array.isArray(topology.hosts)) {
    throw new StartupError(
      `${file} is not a topology`,
      "export default defineTopology({...}) from it",
    );
  }
  return topology;
}

/**
 * `plexus up <topology>`: starts the topology and runs until SIGTERM/SIGINT, then stops
 * gracefully (the host's lifecycle owns the exit code). A failure to start is reported as one
 * line (what is wrong and how to fix it) and resolves to exit code 1.
 */
export async function up(file: string): Promise<number> {
  try {
    const topology = await loadTopology(file);
    const [host, ...others] = topology.hosts;
    if (!host) {
      throw new StartupError(`${file}: the topology has no hosts`, "add one to its hosts");
    }
    if (others.length > 0) {
      process.stderr.write("plexus up: multi-host topologies are not supported yet\n");
      return 2;
    }
    const started = await startHost({ spec: host });
    started.lifecycle.installSignalHandlers();
    return 0;
  } catch (error) {
    return reportFailure(error, "cannot start");
  }
}
