import { context, propagation, ProxyTracerProvider, trace, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { plexusIdGenerator } from "./plexus-id-generator.ts";

export interface TracingOptions {
  /** The `service.name` resource attribute of every span: the process's host or service. */
  serviceName: string;
  /**
   * Where the OTLP/HTTP endpoint is read: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or
   * else `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended). Without either (and without
   * `exporter`) tracing is off. The exporter's other settings (`OTEL_EXPORTER_OTLP_HEADERS`,
   * `..._TIMEOUT`, `..._COMPRESSION`) are read by the OpenTelemetry SDK from `process.env`.
   * Default: `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Exports each span as it ends to this exporter instead (tests: an `InMemorySpanExporter`). It
   * wins over the environment, so a developer's collector settings never capture test spans.
   * Default: none.
   */
  exporter?: SpanExporter;
}

/** The tracing of one process; see {@link createTracing}. */
export interface Tracing extends AsyncDisposable {
  /** Starts spans; a no-op tracer when tracing is off. */
  readonly tracer: Tracer;
  /** Whether spans are recorded and exported; when not, Plexus's interceptors step aside. */
  readonly enabled: boolean;
  /** Exports every ended span still buffered. */
  forceFlush(): Promise<void>;
  /**
   * Flushes, stops the exporter and releases the OpenTelemetry globals this tracing registered.
   * Idempotent; the host calls it during graceful shutdown, after the last call has drained.
   */
  shutdown(): Promise<void>;
}

/** What this module registered as OpenTelemetry globals, and how many tracings rely on it. */
let globals: { holders: number; readonly undo: readonly (() => void)[] } | undefined;

/**
 * Registers the context manager (which `trace.getActiveSpan()` needs), the W3C propagator and
 * the tracer provider (for third-party instrumentation) once per process; later tracings (several
 * hosts in one test process) share them. A global someone else registered first is left alone.
 */
function holdGlobals(provider: TracerProvider): void {
  if (globals !== undefined) {
    globals.holders++;
    return;
  }
  const undo: (() => void)[] = [];
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(contextManager)) undo.push(() => context.disable());
  else contextManager.disable();
  if (propagation.setGlobalPropagator(new W3CTraceContextPropagator())) {
    undo.push(() => propagation.disable());
  }
  if (trace.setGlobalTracerProvider(provider)) undo.push(() => trace.disable());
  globals = { holders: 1, undo };
}

function releaseGlobals(): void {
  if (globals === undefined || --globals.holders > 0) return;
  for (const undo of globals.undo) undo();
  globals = undefined;
}

/** The OTLP/HTTP traces URL the environment asks for, if any (empty values count as unset). */
function otlpTracesUrl(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const traces = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];
  const base = env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  let url: string;
  if (traces) url = traces;
  else if (base) url = `${base.replace(/\/$/, "")}/v1/traces`;
  else return undefined;
  const protocol = URL.parse(url)?.protocol;
  if (protocol !== "http:" && protocol !== "https:") {
    throw new TypeError(`OTLP traces endpoint is not an http(s) URL: ${url}`);
  }
  return url;
}

const scopeName = "@plexus/observability";

/**
 * Sets up OpenTelemetry tracing for the process: a tracer provider whose spans carry
 * `service.name`, the AsyncLocalStorage context manager, the W3C propagator, and an exporter —
 * OTLP/HTTP (JSON, batched) when the environment names an endpoint, or `options.exporter`. With
 * neither, tracing is off and costs nothing: the tracer is a no-op, no global is registered, and
 * `rpcClientTracingInterceptor` returns its `next` unchanged. Spans that Plexus starts for calls
 * take the ids Plexus already sends as `traceparent`, so callee logs and spans line up.
 *
 * @example
 * const tracing = createTracing({ serviceName: "orders" });
 * const orders = createClient(OrdersService, transport, {
 *   interceptors: [rpcClientTracingInterceptor(tracing), ...resilience.interceptors],
 * });
 * // on graceful shutdown:
 * await tracing.shutdown();
 */
export function createTracing(options: TracingOptions): Tracing {
  const url = options.exporter ? undefined : otlpTracesUrl(options.env ?? process.env);
  let processor: SpanProcessor;
  if (options.exporter !== undefined) {
    processor = new SimpleSpanProcessor({ exporter: options.exporter });
  } else if (url !== undefined) {
    processor = new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) });
  } else {
    // A provider nobody registers as the delegate hands out no-op tracers only.
    return {
      tracer: new ProxyTracerProvider().getTracer(scopeName),
      enabled: false,
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": options.serviceName }),
    ),
    idGenerator: plexusIdGenerator,
    spanProcessors: [processor],
  });
  holdGlobals(provider);
  let shutdown: Promise<void> | undefined;
  function shutdownOnce(): Promise<void> {
    shutdown ??= provider.shutdown().finally(releaseGlobals);
    return shutdown;
  }
  return {
    tracer: provider.getTracer(scopeName),
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    shutdown: shutdownOnce,
    [Symbol.asyncDispose]: shutdownOnce,
  };
}
