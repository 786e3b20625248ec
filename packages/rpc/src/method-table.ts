import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import {
  chainInterceptors,
  Code,
  neverAborted,
  PlexusError,
  type CallContext,
  type HandlerContext,
  type RpcInterceptor,
  type ServiceHandlers,
  type UnaryFn,
  type UnaryRequest,
  type UnaryResponse,
} from "@plexus/core";
import { methodPath } from "./method-path.ts";
import { validatedHandlers } from "./validated-handlers.ts";

/**
 * One service to serve: its contract and its implementation.
 *
 * @example
 * const users: ServiceBinding = bindService(UsersService, { getUser: async (req) => ({ ... }) });
 */
export interface ServiceBinding<S extends DescService = DescService> {
  readonly contract: S;
  readonly handlers: ServiceHandlers<S>;
}

/** Pairs a contract with its handlers, type-checking the handlers against the contract. */
export function bindService<S extends DescService>(
  contract: S,
  handlers: ServiceHandlers<S>,
): ServiceBinding {
  return { contract, handlers };
}

/** A servable method: its descriptor and its handler behind the server interceptor chain. */
export interface MethodEntry {
  readonly method: DescMethod;
  readonly path: string;
  readonly invoke: UnaryFn;
}

/** Servable methods, found by descriptor (in-process) or by request URL (network). */
export interface MethodTable {
  /** The method a request URL names (`/<package.Service>/<Method>`, any query string ignored). */
  byUrl(url: string): MethodEntry | undefined;
  byMethod(method: DescMethod): MethodEntry | undefined;
}

type AnyHandler = (request: unknown, ctx: HandlerContext) => Promise<unknown>;

function unimplemented(method: DescMethod): UnaryFn {
  return async function unimplementedMethod() {
    throw new PlexusError(
      Code.Unimplemented,
      `${method.parent.typeName}.${method.name} is not implemented`,
    );
  };
}

/**
 * What a handler sees of its request. Its signal is the context's, read only if the handler
 * reads it: a handler that never looks costs its call no AbortController.
 */
class RequestHandlerContext implements HandlerContext {
  private readonly request: UnaryRequest;

  constructor(request: UnaryRequest) {
    this.request = request;
  }

  get context(): CallContext {
    return this.request.context;
  }

  get header(): Headers {
    return this.request.header;
  }

  get signal(): AbortSignal {
    return this.request.context.signal ?? neverAborted;
  }
}

function terminal(method: DescMethod, handler: AnyHandler): UnaryFn {
  return async function callHandler(request: UnaryRequest): Promise<UnaryResponse> {
    const output = await handler(request.message, new RequestHandlerContext(request));
    return {
      message: create(method.output, output as Parameters<typeof create>[1]),
      header: new Headers(),
    };
  };
}

/**
 * Builds the table once per server: the interceptor chain of each method is composed here, not per
 * call. Streaming methods are left out (Plexus serves unary calls only), so calling one answers
 * `unimplemented` like any unknown method.
 */
export function createMethodTable(
  services: readonly ServiceBinding[],
  interceptors: readonly RpcInterceptor[],
): MethodTable {
  const paths = new Map<string, MethodEntry>();
  const methods = new Map<DescMethod, MethodEntry>();
  for (const { contract, handlers: own } of services) {
    // Every request meets its contract's rules before a handler sees it (ADR 12), on every transport.
    const handlers = validatedHandlers(contract, own);
    for (const method of contract.methods) {
      if (method.methodKind !== "unary") continue;
      const path = methodPath(method);
      if (paths.has(path)) throw new TypeError(`method ${path} is served twice`);
      const handler = (handlers as Record<string, AnyHandler | undefined>)[method.localName];
      const last =
        typeof handler === "function" ? terminal(method, handler) : unimplemented(method);
      const entry: MethodEntry = { method, path, invoke: chainInterceptors(interceptors, last) };
      paths.set(path, entry);
      methods.set(method, entry);
    }
  }
  return {
    byUrl(url) {
      // Clients send no query string; the exact lookup comes first.
      const exact = paths.get(url);
      if (exact !== undefined) return exact;
      const query = url.indexOf("?");
      return query === -1 ? undefined : paths.get(url.slice(0, query));
    },
    byMethod: (method) => methods.get(method) ?? paths.get(methodPath(method)),
  };
}
