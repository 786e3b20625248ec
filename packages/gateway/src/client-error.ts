import type { Socket } from "node:net";
import { newCorrelationId, newRequestId, type Clock } from "@plexus/core";
import { jsonContentType } from "./json-content-type.ts";

/** A node:http `clientError` listener. */
export type ClientErrorHandler = (error: Error & { code?: string }, socket: Socket) => void;

/**
 * Answers what node:http rejects before a request exists (headers too large, timeouts, malformed
 * HTTP) in API.md's error shape, written straight to the socket: there is no response object.
 */
export function createClientErrorHandler(clock: Clock): ClientErrorHandler {
  return (error, socket) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, text, reason, message] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE", "request headers too large"]
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "REQUEST_TIMEOUT", "request timed out"]
          : [400, "Bad Request", "BAD_REQUEST", "malformed HTTP request"];
    const requestId = newRequestId();
    const body = JSON.stringify({
      error: {
        code: reason,
        message,
        requestId,
        timestamp: new Date(clock.now()).toISOString(),
        path: "",
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\n` +
        `content-type: ${jsonContentType}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        `x-correlation-id: ${newCorrelationId()}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  };
}
