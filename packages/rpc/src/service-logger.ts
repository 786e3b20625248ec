import type { Logger } from "@plexus/core";

/** The logger of the answering side, stamped with its service's name when both are given. */
export function serviceLogger(
  logger: Logger | undefined,
  serviceName: string | undefined,
): Logger | undefined {
  return serviceName !== undefined && logger !== undefined
    ? logger.child({ service: serviceName })
    : logger;
}
