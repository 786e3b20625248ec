export { clientInterceptors, serverInterceptors } from "./call-interceptors.ts";
export { createHostResilience } from "./host-resilience.ts";
export { startHost, type Host, type HostOptions } from "./host.ts";
export {
  defineTopology,
  type EdgeApp,
  type EdgeEnv,
  type EdgeFactory,
  type HostSpec,
  type Topology,
} from "./topology.ts";
