import { context, propagation, ProxyTracerProvider, trace, type Tracer } from "@opentelemetry/api";
import type { SpanExporter, SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { plexusIdGenerator } from "./plexus-id-generator.ts";
import { integerSetting, invalidSetting } from "@plexus/core";

export interface TracingOptions {
  /** The `service.name` resource attribute of every span: the process's host or service. */
  serviceName: string;
  /**
   * Where the OTLP/HTTP endpoint is read: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL) or
   * else `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended). Without either (and without
   * `exporter`) tracing is off. `OTEL_BSP_SCHEDULE_DELAY` (ms, default 5 000) is how long ended
   * spans wait to be exported in a batch. The exporter's other settings
   * (`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`, `..._COMPRESSION`) are read by the
   * OpenTelemetry SDK from `process.env`. Default: `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Exports each span as it ends to this exporter instead (tests: an `InMemorySpanExporter`). It
   * wins over the environment, so a developer's collector settings never capture test spans.
   * Default: none.
   */
  exporter?: SpanExporter;
  /**
   * Hands `exporter` its spans in batches, as the OTLP export does (`OTEL_BSP_SCHEDULE_DELAY`),
   * instead of each as it ends: for measuring what tracing costs a production host (exporting
   * span by span costs a promise, a context switch and an export call per span). Default
   * `false`: tests read their spans as soon as they end.
   */
  exportInBatches?: boolean;
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
async function holdGlobals(provider: TracerProvider): Promise<void> {
  // Checked after the (cached, after the first time) imports: another tracing may register the
  // globals while they load.
  const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] = await Promise.all([
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
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
    throw traces
      ? invalidSetting("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, "an http(s) URL")
      : invalidSetting("OTEL_EXPORTER_OTLP_ENDPOINT", base ?? "", "an http(s) URL");
  }
  return url;
}

/** `OTEL_BSP_SCHEDULE_DELAY`, if set (empty counts as unset): the batch export delay in ms. */
function scheduleDelayMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  return integerSetting(env, "OTEL_BSP_SCHEDULE_DELAY", 0);
}

const scopeName = "@plexus/observability";

/** What tracing is when off: a no-op tracer (a provider nobody registers hands out no others). */
const tracingOff: Tracing = {
  tracer: new ProxyTracerProvider().getTracer(scopeName),
  enabled: false,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

/**
 * Sets up OpenTelemetry tracing for the process: a tracer provider whose spans carry
 * `service.name`, the AsyncLocalStorage context manager, the W3C propagator, and an exporter —
 * OTLP/HTTP (JSON, batched) when the environment names an endpoint, or `options.exporter`. With
 * neither, tracing is off and costs nothing: the tracer is a no-op, no global is registered, the
 * interceptors return their `next` unchanged, and the OpenTelemetry SDK is never loaded (it is
 * imported on demand, ~170 ms of a process start otherwise). Spans that Plexus starts for calls
 * take the ids Plexus already sends as `traceparent`, so callee logs and spans line up.
 *
 * @throws TypeError (as a rejection) when the endpoint is no http(s) URL or
 *   `OTEL_BSP_SCHEDULE_DELAY` no number: a misconfigured collector fails the start, not silently.
 *
 * @example
 * const tracing = await createTracing({ serviceName: "orders" });
 * const orders = createClient(OrdersService, transport, {
 *   interceptors: [rpcClientTracingInterceptor(tracing), ...resilience.interceptors],
 * });
 * // on graceful shutdown:
 * await tracing.shutdown();
 */
export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  const url = options.exporter ? undefined : otlpTracesUrl(env);
  if (options.exporter === undefined && url === undefined) return tracingOff;
  const delayMs = scheduleDelayMs(env);
  const [sdk, { defaultResource, resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
  ]);
  const batched = (exporter: SpanExporter): SpanProcessor =>
    new sdk.BatchSpanProcessor({
      exporter,
      ...(delayMs === undefined ? {} : { scheduledDelayMillis: delayMs }),
    });
  let processor: SpanProcessor;
  if (options.exporter === undefined) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    processor = batched(new OTLPTraceExporter({ url }));
  } else {
    processor =
      options.exportInBatches === true
        ? batched(options.exporter)
        : new sdk.SimpleSpanProcessor({ exporter: options.exporter });
  }
  const provider = new sdk.TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": options.serviceName }),
    ),
    idGenerator: plexusIdGenerator(new sdk.RandomIdGenerator()),
    spanProcessors: [processor],
  });
  await holdGlobals(provider);
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
