/**
 * gRPC's deadline header (PROTOCOL-HTTP2.md: `Timeout → "grpc-timeout" TimeoutValue
 * TimeoutUnit`), for the gRPC protocol still to be served on the RPC port. Like every deadline
 * header it carries the time remaining, never an absolute time, which clock skew between hosts
 * would corrupt.
 */
export const headerGrpcTimeout = "grpc-timeout";

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
