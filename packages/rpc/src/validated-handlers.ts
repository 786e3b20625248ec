import type { DescService } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "@plexus/core";
import { validatorOf } from "./message-validator.ts";

type AnyHandler = (request: never, ctx: never) => Promise<unknown>;

/**
 * A service's handlers behind its contract's request rules (ADR 12): each request is validated
 * before its handler runs, and a bad one is refused with `InvalidArgument`/`VALIDATION_ERROR` and
 * field details. Every RPC server (network and in-process) serves handlers through this; a test
 * calling handlers directly gets the same boundary from it. Validators are compiled here, once.
 *
 * @example
 * const handlers = validatedHandlers(CatalogService, catalogHandlers);
 */
export function validatedHandlers<S extends DescService>(
  contract: S,
  handlers: ServiceHandlers<S>,
): ServiceHandlers<S> {
  const source = handlers as Record<string, AnyHandler | undefined>;
  const served: Record<string, AnyHandler> = {};
  for (const method of contract.methods) {
    const handler = source[method.localName];
    if (typeof handler !== "function") continue;
    const validate = validatorOf(method.input);
    const bound = handler.bind(handlers);
    served[method.localName] = async function validated(request, ctx) {
      validate(request);
      return bound(request, ctx);
    };
  }
  return served as ServiceHandlers<S>;
}
