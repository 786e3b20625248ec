/**
 * How a deadline travels with a call: always as the time remaining (never as an absolute time,
 * which clock skew between hosts would corrupt), in the header each protocol defines.
 */

/** gRPC's header (PROTOCOL-HTTP2.md: `Timeout → "grpc-timeout" TimeoutValue TimeoutUnit`). */
export const headerGrpcTimeout = "grpc-timeout";
/** The Connect protocol's header: milliseconds, at most 10 digits. */
export const headerConnectTimeout = "connect-timeout-ms";
/**
 * Plexus's header for plain HTTP (REST upstreams, the legacy monolith): milliseconds remaining,
 * like Envoy's `x-envoy-expected-rq-timeout-ms`. Internal: the gateway strips `x-plexus-*`
 * headers coming from outside and sets its own.
 */
export const headerTimeoutMs = "x-plexus-timeout-ms";

const grpcUnits: readonly (readonly [string, number])[] = [
  ["n", 1e-6],
  ["u", 1e-3],
  ["m", 1],
  ["S", 1_000],
  ["M", 60_000],
  ["H", 3_600_000],
];

/**
 * Formats a remaining time for `grpc-timeout`: the finest unit from milliseconds up whose value
 * fits the 8 digits the protocol allows, rounded down — a child never outlives its parent, so
 * the callee may give up a little early, never late.
 */
export function formatGrpcTimeout(ms: number): string {
  const remaining = Math.max(0, ms);
  for (const [unit, size] of grpcUnits) {
    if (size < 1) continue;
    const value = Math.floor(remaining / size);
    if (value < 100_000_000) return `${value}${unit}`;
  }
  return "99999999H";
}

/** Parses a `grpc-timeout` value into milliseconds; `undefined` when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  const unit = grpcUnits.find(([name]) => name === match[2]);
  return unit === undefined ? undefined : Number(match[1]) * unit[1];
}

function parseMs(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]{1,10}$/.test(value) ? Number(value) : undefined;
}

type HeaderSource = Headers | Readonly<Record<string, string | string[] | undefined>>;

function read(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return typeof value === "string" ? value : value?.[0];
}

/**
 * The absolute deadline (epoch ms on the local clock) an incoming call carries in any of the
 * three headers — the earliest when several are present — or `undefined` when none is valid.
 */
export function deadlineFromHeaders(headers: HeaderSource, now: number): number | undefined {
  const candidates = [
    parseMs(read(headers, headerConnectTimeout)),
    parseMs(read(headers, headerTimeoutMs)),
    ((v) => (v === undefined ? undefined : parseGrpcTimeout(v)))(read(headers, headerGrpcTimeout)),
  ];
  let remaining: number | undefined;
  for (const candidate of candidates) {
    if (candidate !== undefined && (remaining === undefined || candidate < remaining)) {
      remaining = candidate;
    }
  }
  return remaining === undefined ? undefined : now + remaining;
}

/**
 * Writes the remaining time of `deadline` into `target` in the header of `protocol` (plain
 * objects are what undici takes). Nothing is written without a deadline.
 */
export function writeDeadlineHeader(
  target: Record<string, string>,
  protocol: "grpc" | "connect" | "http",
  deadline: number | undefined,
  now: number,
): void {
  if (deadline === undefined) return;
  const remaining = Math.max(0, deadline - now);
  if (protocol === "grpc") target[headerGrpcTimeout] = formatGrpcTimeout(remaining);
  else {
    // Floored, for the same reason as grpc-timeout.
    target[protocol === "connect" ? headerConnectTimeout : headerTimeoutMs] = String(
      Math.floor(remaining),
    );
  }
}
