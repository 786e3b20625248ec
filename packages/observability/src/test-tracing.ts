/*
 * Test support for this package's tests (not exported): a real SDK provider exporting to memory,
 * fresh for every test and shut down after it.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, beforeEach } from "vitest";
import { createTracing, type Tracing } from "./tracing.ts";

export interface TestTracing {
  readonly tracing: Tracing;
  readonly exporter: InMemorySpanExporter;
  /** The spans ended so far, after flushing the processor. */
  finished(): Promise<ReadableSpan[]>;
}

export function useTestTracing(serviceName = "test"): TestTracing {
  let exporter: InMemorySpanExporter | undefined;
  let tracing: Tracing | undefined;
  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    tracing = await createTracing({ serviceName, env: {}, exporter });
  });
  afterEach(() => tracing?.shutdown());
  const current = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useTestTracing: only inside a test");
    return value;
  };
  return {
    get tracing() {
      return current(tracing);
    },
    get exporter() {
      return current(exporter);
    },
    async finished() {
      await current(tracing).forceFlush();
      return current(exporter).getFinishedSpans();
    },
  };
}
