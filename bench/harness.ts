/**
 * The generic side-by-side harness of `npm run bench` (DESIGN.md "How we measure"): every
 * candidate is measured against the suite's baseline in the same process and the same run,
 * interleaved (baseline, candidate, baseline, candidate …), over several rounds, and reported as
 * medians. Loops are bounded both in count and in time.
 */
import { availableParallelism } from "node:os";

/** One thing to measure: `op` is called sequentially, awaited when it returns a promise. */
export interface Candidate {
  readonly name: string;
  op(): unknown;
  /** Called once before the candidate's first sample. */
  setup?(): Promise<void> | void;
  /** Called once after the last round. */
  teardown?(): Promise<void> | void;
}

export interface Suite {
  readonly name: string;
  readonly baseline: Candidate;
  readonly candidates: readonly Candidate[];
  /** What the baseline measures, recorded in the results file. */
  readonly description?: Readonly<Record<string, unknown>>;
  /**
   * Operations timed together as one latency sample. Sub-microsecond operations cannot be
   * timed one by one (reading the clock costs more than they do): their p50/p99 are those of
   * batch means. Default 1 (real per-operation latencies).
   */
  readonly batchSize?: number;
  /**
   * Operations kept in flight at once (a load generator's connections). Default 1: `op` is
   * called sequentially. Each in-flight slot runs its own sequential loop; a sample ends when
   * its time or operation budget is spent and the calls in flight have settled.
   */
  readonly concurrency?: number;
  /**
   * A sample's time budget at least this, in ms, whatever the settings: a pipeline whose latency
   * is near the quick settings' budget (an event produced → consumed) would otherwise be timed
   * filling and draining. Default: the settings' `sampleMs`.
   */
  readonly minSampleMs?: number;
}

export interface RunSettings {
  /** Rounds (each: baseline then candidate, for every candidate). At least 3. */
  readonly rounds: number;
  /** Time budget of one sample, in ms. */
  readonly sampleMs: number;
  /** Operation cap of one sample, whatever the time. */
  readonly maxOpsPerSample: number;
  /** Warm-up time per candidate before the rounds (JIT, caches, connections). */
  readonly warmupMs: number;
}

export const quickSettings: RunSettings = {
  rounds: 5,
  sampleMs: 300,
  maxOpsPerSample: 2_000_000,
  warmupMs: 300,
};
export const fullSettings: RunSettings = {
  rounds: 9,
  sampleMs: 1_000,
  maxOpsPerSample: 10_000_000,
  warmupMs: 1_000,
};

export interface Result {
  name: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Candidate throughput over the baseline's, median of the per-round ratios. */
  ratio: number;
}

export interface SuiteReport {
  suite: string;
  date: string;
  node: string;
  cpus: number;
  settings: RunSettings & { batchSize: number; concurrency: number };
  baseline: Record<string, unknown> & Omit<Result, "ratio">;
  results: Result[];
}

interface Sample {
  opsPerSec: number;
  /** Per-op latency (ms) of each batch. */
  latencies: number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `sorted` ascending: each summary sorts its (possibly millions of) latencies once. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function sample(
  candidate: Candidate,
  settings: RunSettings,
  batch: number,
  concurrency: number,
): Promise<Sample> {
  const latencies: number[] = [];
  const budgetNs = BigInt(Math.round(settings.sampleMs * 1e6));
  const start = process.hrtime.bigint();
  let ops = 0;
  let end = start;
  async function loop(): Promise<void> {
    let now = process.hrtime.bigint();
    while (ops < settings.maxOpsPerSample && now - start < budgetNs) {
      const batchStart = now;
      for (let i = 0; i < batch; i++) {
        const result = candidate.op();
        if (result instanceof Promise) await result;
      }
      ops += batch;
      now = process.hrtime.bigint();
      latencies.push(Number(now - batchStart) / 1e6 / batch);
    }
    if (now > end) end = now;
  }
  if (concurrency === 1) await loop();
  else await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedS = Number(end - start) / 1e9;
  return { opsPerSec: ops / elapsedS, latencies };
}

function round3(value: number): number {
  return Number(value.toPrecision(4));
}

/** Runs a suite and returns its report (the caller prints and stores it). */
export async function runSuite(
  suite: Suite,
  settings: RunSettings,
  log: (line: string) => void,
): Promise<SuiteReport> {
  if (settings.rounds < 3) throw new RangeError("at least 3 rounds");
  settings = { ...settings, sampleMs: Math.max(settings.sampleMs, suite.minSampleMs ?? 0) };
  const batch = suite.batchSize ?? 1;
  const concurrency = suite.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError("concurrency is a positive integer");
  }
  const all = [suite.baseline, ...suite.candidates];
  for (const candidate of all) await candidate.setup?.();
  try {
    for (const candidate of all) {
      await sample(candidate, { ...settings, sampleMs: settings.warmupMs }, batch, concurrency);
    }
    const baselineSamples: Sample[] = [];
    const samples = new Map<string, Sample[]>(suite.candidates.map((c) => [c.name, []]));
    const ratios = new Map<string, number[]>(suite.candidates.map((c) => [c.name, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const candidate of suite.candidates) {
        const base = await sample(suite.baseline, settings, batch, concurrency);
        const measured = await sample(candidate, settings, batch, concurrency);
        baselineSamples.push(base);
        samples.get(candidate.name)!.push(measured);
        ratios.get(candidate.name)!.push(measured.opsPerSec / base.opsPerSec);
        log(
          `round ${round} ${candidate.name}: ${Math.round(measured.opsPerSec)} ops/s ` +
            `(baseline ${Math.round(base.opsPerSec)} ops/s, ratio ${round3(measured.opsPerSec / base.opsPerSec)})`,
        );
      }
    }
    const summarise = (list: Sample[]) => {
      const latencies = list.flatMap((s) => s.latencies).sort((a, b) => a - b);
      return {
        opsPerSec: Math.round(median(list.map((s) => s.opsPerSec))),
        p50Ms: round3(percentile(latencies, 50)),
        p99Ms: round3(percentile(latencies, 99)),
      };
    };
    const baselineSummary = summarise(baselineSamples);
    const baseline = { name: suite.baseline.name, ...suite.description, ...baselineSummary };
    const results: Result[] = [
      { name: suite.baseline.name, ...baselineSummary, ratio: 1 },
      ...suite.candidates.map((c) => ({
        name: c.name,
        ...summarise(samples.get(c.name)!),
        ratio: round3(median(ratios.get(c.name)!)),
      })),
    ];
    return {
      suite: suite.name,
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      settings: { ...settings, batchSize: batch, concurrency },
      baseline,
      results,
    };
  } finally {
    for (const candidate of all) await candidate.teardown?.();
  }
}
