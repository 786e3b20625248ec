import { randomBytes, randomUUID } from "node:crypto";

/** A new request id (one per hop). */
export function newRequestId(): string {
  return randomUUID();
}

/** A new correlation id (one per end-to-end interaction). */
export function newCorrelationId(): string {
  return randomUUID();
}

const correlationIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Whether a correlation id taken from outside is safe to echo and log: bounded length, no
 * whitespace or control characters (log and header injection).
 */
export function isWellFormedCorrelationId(value: string): boolean {
  return correlationIdPattern.test(value);
}

/** W3C trace-context `traceparent` (version 00). */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly flags: string;
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a `traceparent` header per W3C Trace Context: invalid versions (ff), all-zero trace or
 * span ids, and malformed values yield `undefined` (the caller then starts a new trace).
 */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined) return undefined;
  const m = traceparentPattern.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === "ff") return undefined;
  if (version === "00" && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags };
}

export function formatTraceparent(tp: TraceParent): string {
  return `00-${tp.traceId}-${tp.spanId}-${tp.flags}`;
}

// Trace and span ids come from a pooled buffer, as randomUUID's do: one randomBytes call per
// request costs a syscall (~10 µs), measurable on the gateway's hot path. They are not secrets.
const randomPoolSize = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

function randomHex(bytes: number): string {
  if (randomPoolOffset + bytes > randomPool.length) {
    randomPool = randomBytes(randomPoolSize);
    randomPoolOffset = 0;
  }
  const hex = randomPool.toString("hex", randomPoolOffset, randomPoolOffset + bytes);
  randomPoolOffset += bytes;
  return hex;
}

/** A child span of `parent` (same trace, new span id), or the root of a new sampled trace. */
export function childTraceparent(parent: TraceParent | undefined): TraceParent {
  return {
    traceId: parent?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    flags: parent?.flags ?? "01",
  };
}
