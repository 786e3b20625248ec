export { startHost, type Host, type HostOptions } from "./host.ts";
export {
  defineTopology,
  type EdgeApp,
  type EdgeEnv,
  type EdgeFactory,
  type HostSpec,
  type Topology,
} from "./topology.ts";
