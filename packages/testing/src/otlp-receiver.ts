import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An attribute value as OTLP/JSON carries it, decoded. */
export type OtlpValue = string | number | boolean | readonly OtlpValue[] | undefined;

/** One span received, flattened out of its resource and scope. */
export interface ReceivedSpan {
  /** The `service.name` of the resource that sent it. */
  readonly serviceName: string | undefined;
  readonly name: string;
  /** OTLP's `SpanKind`: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** `undefined` for a root span. */
  readonly parentSpanId: string | undefined;
  readonly attributes: Readonly<Record<string, OtlpValue>>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string | undefined };
  readonly events: readonly {
    readonly name: string;
    readonly attributes: Readonly<Record<string, OtlpValue>>;
  }[];
}

/** One export request as it arrived. */
export interface ReceivedExport {
  readonly path: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

export interface OtlpReceiver extends AsyncDisposable {
  /** Base URL (`http://127.0.0.1:<port>`): the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  /** Every export request received, in order. */
  readonly exports: readonly ReceivedExport[];
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /**
   * Polls the spans received until `found` returns something other than `undefined`, and returns
   * that. Throws after `timeoutMs` (default 10 000) listing what did arrive: exporters batch, so
   * tests wait for what they expect rather than for a time.
   */
  waitFor<T>(found: (spans: ReceivedSpan[]) => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  events?: { name: string; attributes?: KeyValue[] }[];
}
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function decode(value: AnyValue | undefined): OtlpValue {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decode);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const { key, value } of list ?? []) out[key] = decode(value);
  return out;
}

function spansOf(body: OtlpTraces): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const serviceName = attributesOf(resourceSpans.resource?.attributes)["service.name"];
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          serviceName: typeof serviceName === "string" ? serviceName : undefined,
          name: span.name,
          kind: span.kind,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message },
          events: (span.events ?? []).map((e) => ({
            name: e.name,
            attributes: attributesOf(e.attributes),
          })),
        });
      }
    }
  }
  return out;
}

/**
 * A stand-in OpenTelemetry collector for tests: an OTLP/HTTP receiver on 127.0.0.1, port 0,
 * that accepts JSON trace exports (what `@plexus/observability`'s exporter sends) on any path
 * and keeps every span. Point `OTEL_EXPORTER_OTLP_ENDPOINT` at `url`.
 *
 * @example
 * await using receiver = await startOtlpReceiver();
 * const tracing = await createTracing({ serviceName: "orders", env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
 * const span = await receiver.waitFor((spans) => spans.find((s) => s.name === "GET /api/v1/products/:id"));
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const received: ReceivedSpan[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const contentType = request.headers["content-type"];
      exports.push({ path: request.url, contentType, body });
      if (contentType?.startsWith("application/json")) {
        try {
          received.push(...spansOf(JSON.parse(body) as OtlpTraces));
        } catch {
          response.writeHead(400).end();
          return;
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  async function waitFor<T>(
    found: (spans: ReceivedSpan[]) => T | undefined,
    timeoutMs = 10_000,
  ): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const result = found([...received]);
      if (result !== undefined) return result;
      if (Date.now() >= until) {
        const names = received.map((s) => `${s.serviceName ?? "?"} ${s.name}`);
        throw new Error(
          `spans awaited did not arrive within ${timeoutMs} ms; received: ${names.join(", ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= (async () => {
      // Exporters keep their connections alive; end them so the server closes now.
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    })();
    return closed;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans: () => [...received],
    waitFor,
    close,
    [Symbol.asyncDispose]: close,
  };
}
