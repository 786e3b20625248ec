/**
 * One way of making the `rpc` suite's call over the network: its server side (run in a child
 * process by `server.ts`) and its client side (run in the load generator, the bench process).
 */
export interface RpcContender {
  /** Why it cannot run on this machine (a server it needs is down), if so: it is then skipped. */
  unavailable?(): Promise<string | undefined>;
  /** Starts the server; resolves once it accepts calls. */
  serve(): Promise<RpcServing>;
  /** Connects a client to the `endpoint` the server reported. */
  connect(endpoint: string): Promise<RpcClient>;
}

/**
 * A contender whose server and client share the bench process (an in-process call: no server
 * process, no socket), measured by the same load loop as the others.
 */
export interface LocalRpcContender {
  /** Starts the server side and a client of it, in this process. */
  start(): Promise<RpcClient>;
}

export interface RpcServing {
  /** Where clients reach the server: a URL, or whatever the contender's client understands. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface RpcClient {
  /** One `GetProduct` call, resolved once its answer is decoded and checked. */
  call(): Promise<void>;
  close(): Promise<void>;
}
