import { connect } from "node:net";
import { Readable } from "node:stream";
import { Agent, request } from "undici";

export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CallInit {
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

/** A small HTTP client for driving a real gateway in tests (undici, its own connection pool). */
export function createTestClient(baseUrl: string) {
  const agent = new Agent({ keepAliveTimeout: 1_000 });
  async function call(method: string, path: string, init: CallInit = {}): Promise<TestResponse> {
    const res = await request(baseUrl + path, {
      method,
      headers: init.headers,
      body:
        init.body === undefined || typeof init.body === "string" || Buffer.isBuffer(init.body)
          ? init.body
          : Readable.from(init.body),
      dispatcher: agent,
      signal: init.signal,
    });
    const text = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers, text, json };
  }
  return { call, close: () => agent.close() };
}

/** Sends raw bytes on a fresh connection and returns everything the server answers. */
export function rawRequest(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.end(data);
  });
}
