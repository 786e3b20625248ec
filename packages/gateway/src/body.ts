import type { IncomingMessage } from "node:http";
import { Code, PlexusError } from "@plexus/core";

/** What a route accepts as a request body. */
export type BodyMode =
  /** The body is not read (it may be streamed by the handler from `raw`). */
  | "none"
  /** Any JSON value. */
  | "json"
  /** A JSON object; any other JSON value is a 400 `BAD_REQUEST`. */
  | "object";

export interface ReadJsonBodyOptions {
  readonly maxBytes: number;
  /** Deepest accepted nesting of arrays/objects. */
  readonly maxDepth: number;
  readonly mode: "json" | "object";
  readonly signal?: AbortSignal;
}

/**
 * Whether a Content-Type is `application/json`: the media type compared case-insensitively,
 * parameters allowed, but a `charset` other than UTF-8 refused — JSON on the wire is UTF-8
 * (RFC 8259 §8.1), and decoding Latin-1 as UTF-8 would silently corrupt text.
 */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const semi = value.indexOf(";");
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (type !== "application/json") return false;
  if (semi === -1) return true;
  for (const param of value.slice(semi + 1).split(";")) {
    const eq = param.indexOf("=");
    if (eq === -1) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    const charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
    if (charset !== "utf-8" && charset !== "utf8") return false;
  }
  return true;
}

/** A 413 `PAYLOAD_TOO_LARGE` for bodies over `maxBytes`. */
export function payloadTooLarge(maxBytes: number): PlexusError {
  // InvalidArgument, not ResourceExhausted: the same body retried as-is fails again.
  return new PlexusError(
    Code.InvalidArgument,
    `request body exceeds the limit of ${maxBytes} bytes`,
    { reason: "PAYLOAD_TOO_LARGE" },
  );
}

function badRequest(message: string, cause?: unknown): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, { reason: "BAD_REQUEST", cause });
}

function unsupportedMediaType(message: string): PlexusError {
  return new PlexusError(Code.InvalidArgument, message, { reason: "UNSUPPORTED_MEDIA_TYPE" });
}

/**
 * Whether the request announces a body at all: a non-zero Content-Length or any
 * Transfer-Encoding (chunked bodies have no length up front).
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

/**
 * Checks the headers of a request whose body is about to be read, before a byte is read:
 * 415 for a wrong Content-Type or a Content-Encoding, 413 when Content-Length already exceeds
 * the limit, 400 when there is no body at all.
 */
export function checkBodyHeaders(req: IncomingMessage, maxBytes: number): void {
  const contentType = req.headers["content-type"];
  const present = hasBody(req);
  if (!present && contentType === undefined) throw badRequest("a JSON request body is required");
  if (!isJsonContentType(contentType)) {
    throw unsupportedMediaType("Content-Type must be application/json");
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    // RFC 7694: 415 is the answer to a content coding the server does not support.
    throw unsupportedMediaType("Content-Encoding is not supported");
  }
  const declared = contentLengthOf(req);
  if (declared !== undefined && declared > maxBytes) throw payloadTooLarge(maxBytes);
  if (!present) throw badRequest("a JSON request body is required");
}

/** The declared Content-Length, or `undefined` when absent (node:http rejects malformed ones). */
export function contentLengthOf(req: IncomingMessage): number | undefined {
  const length = req.headers["content-length"];
  return length === undefined ? undefined : Number(length);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and parses a JSON body, never holding more than `maxBytes` (+ one chunk): bytes are
 * counted as they stream in and reading stops at the limit with a 413. Assumes
 * {@link checkBodyHeaders} passed. Empty, non-UTF-8 or malformed JSON is a 400; a non-object where
 * `mode` is `object` is a 400 too (the document is not what the endpoint reads at all — field-level
 * problems in a well-shaped document are the 422s of schema validation).
 */
export async function readJsonBody(
  req: IncomingMessage,
  options: ReadJsonBodyOptions,
): Promise<unknown> {
  const bytes = await readBounded(req, options.maxBytes, options.signal);
  if (bytes.length === 0) throw badRequest("a JSON request body is required");
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw badRequest("request body is not valid UTF-8", error);
  }
  if (nestingExceeds(text, options.maxDepth)) {
    throw badRequest(`request body is nested deeper than ${options.maxDepth} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest("request body is not valid JSON", error);
  }
  if (
    options.mode === "object" &&
    (typeof value !== "object" || value === null || Array.isArray(value))
  ) {
    throw badRequest("request body must be a JSON object");
  }
  return value;
}

/**
 * Whether JSON text nests arrays/objects deeper than `max`. JSON.parse copes with any depth, but
 * whatever walks the value next (validation, serialisation, protobuf conversion) usually recurses
 * and would overflow the stack: a 5xx out of a client's input. A linear scan, strings skipped.
 */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

function readBounded(
  req: IncomingMessage,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;

    function cleanup(): void {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      signal?.removeEventListener("abort", onAbort);
    }
    function fail(error: unknown): void {
      if (settled) return;
      settled = true;
      cleanup();
      // Stop pulling: the rest of an oversized or abandoned body is the connection's problem
      // (the gateway answers with `Connection: close`).
      req.pause();
      reject(error instanceof Error ? error : new Error(String(error)));
    }
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size > maxBytes) {
        fail(payloadTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    }
    function onEnd(): void {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    }
    function onError(error: Error): void {
      fail(badRequest("request body could not be read", error));
    }
    function onAborted(): void {
      fail(new PlexusError(Code.Canceled, "client closed request"));
    }
    function onAbort(): void {
      const reason = PlexusError.from(signal?.reason ?? new DOMException("aborted", "AbortError"));
      // The deadline passed while the client was still sending: its request was too slow to
      // arrive (408), not our answer too slow to leave (504).
      fail(
        reason.code === Code.DeadlineExceeded
          ? new PlexusError(Code.DeadlineExceeded, "request body not received in time", {
              reason: "REQUEST_TIMEOUT",
              cause: reason,
            })
          : reason,
      );
    }

    if (signal?.aborted) {
      onAbort();
      return;
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
