/**
 * The server process of one `rpc` contender: `node bench/suites/rpc/server.ts <contender>`.
 * Prints `{"endpoint": ...}` once it accepts calls, stops on SIGTERM, and also when its parent
 * goes away (its stdin closes), so no server outlives the bench.
 */
import { rpcContenders } from "./contenders.ts";

/** How long a graceful stop may take before the process exits anyway. */
const stopTimeoutMs = 5_000;

const name = process.argv[2] ?? "";
const contender = rpcContenders[name];
if (contender === undefined) {
  console.error(`usage: server.ts <${Object.keys(rpcContenders).join("|")}>`);
  process.exit(2);
}
const serving = await contender.serve();

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), stopTimeoutMs).unref();
  serving.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
process.once("SIGTERM", stop);
process.stdin.once("end", stop).resume();
console.log(JSON.stringify({ endpoint: serving.endpoint }));
