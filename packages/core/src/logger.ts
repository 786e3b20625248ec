import {
  pino,
  type Bindings,
  type ChildLoggerOptions,
  type DestinationStream,
  type Logger as PinoLogger,
} from "pino";
import { CENSORED, censorSecrets } from "./censor-secrets.ts";
import { currentContext } from "./context.ts";
import { invalidSetting } from "./settings.ts";

/** The logger every Plexus component takes: pino's. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Logger name (the service or host). */
  name: string;
  /** Minimum level. Default: `PLEXUS_LOG_LEVEL`, else `info`. */
  level?: string;
  /** Where lines go. Default: stdout. Tests pass a stream to read lines back. */
  destination?: DestinationStream;
}

/**
 * Keys whose values are never logged, wherever they sit (two levels deep, and in headers).
 * Censoring by key rather than by call site means a forgotten field is still safe.
 */
type ChildFn = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

const secretKeys = [
  "password",
  "passwordHash",
  "token",
  "accessToken",
  "refreshToken",
  "authorization",
  "Authorization",
  "cookie",
  "secret",
  "privateKey",
  "paymentMethod",
];

const redactPaths = [
  ...secretKeys,
  ...secretKeys.map((k) => `*.${k}`),
  ...secretKeys.map((k) => `*.*.${k}`),
  'headers["authorization"]',
  '*.headers["authorization"]',
  'headers["cookie"]',
  '*.headers["cookie"]',
];

const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** `PLEXUS_LOG_LEVEL`, else `info`; a level pino does not know is a start-up error, not a crash. */
function levelSetting(): string {
  const raw = process.env["PLEXUS_LOG_LEVEL"]?.trim();
  if (raw === undefined || raw === "") return "info";
  if (!levels.includes(raw))
    throw invalidSetting("PLEXUS_LOG_LEVEL", raw, `one of ${levels.join(", ")}`);
  return raw;
}

/**
 * A pino logger that stamps the current correlation id, request id and trace/span ids on every
 * line (taken from the async context, so call sites need not pass them) and censors secrets.
 *
 * Censoring has two nets: pino's path-based `redact` (also reaches serialised errors), and a
 * key-based pass over every logged object and child binding that ignores case and separators
 * (`AUTHORIZATION`, `Set-Cookie`, `access_token`), since header objects arrive in any case.
 */
export function createLogger(options: LoggerOptions): Logger {
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? levelSetting(),
      redact: { paths: redactPaths, censor: CENSORED },
      formatters: { log: (object) => censorSecrets(object) },
      mixin() {
        const ctx = currentContext();
        if (!ctx) return {};
        return {
          correlationId: ctx.correlationId,
          requestId: ctx.requestId,
          // The service calling in this context: on a server, the authenticated caller.
          ...(ctx.caller ? { caller: ctx.caller } : {}),
          ...(ctx.trace ? { traceId: ctx.trace.traceId, spanId: ctx.trace.spanId } : {}),
        };
      },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
  // pino applies no formatter to child bindings, so they are censored on the way in. Children
  // are created with Object.create(parent) and so inherit this override, down to any depth.
  // Called with the child's own `this`, so a grandchild keeps its parent's bindings.
  const child = Reflect.get(logger, "child") as unknown as ChildFn;
  logger.child = function censoringChild(
    this: Logger,
    bindings: Bindings,
    childOptions?: ChildLoggerOptions,
  ) {
    return child.call(this, censorSecrets(bindings), childOptions);
  } as unknown as typeof logger.child;
  return logger;
}
