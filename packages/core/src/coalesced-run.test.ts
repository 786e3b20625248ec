import { describe, expect, it } from "vitest";
import { CoalescedRun } from "./coalesced-run.ts";

/** A pass that waits until released, counting how many started and how many run at once. */
function gatedPass() {
  let started = 0;
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const pass = async (): Promise<void> => {
    started++;
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
  };
  const releaseNext = async (): Promise<void> => {
    while (gates.length === 0) await Promise.resolve();
    gates.shift()!();
  };
  return { pass, releaseNext, counts: () => ({ started, most }) };
}

describe("CoalescedRun", () => {
  it("runs a pass at once when none runs", async () => {
    const { pass, releaseNext, counts } = gatedPass();
    const run = new CoalescedRun(pass);
    const done = run.request();
    expect(counts().started).toBe(1);
    await releaseNext();
    await done;
    await run.idle();
    expect(counts()).toEqual({ started: 1, most: 1 });
  });

  it("turns any number of requests during a pass into one more pass, never two at once", async () => {
    const { pass, releaseNext, counts } = gatedPass();
    const run = new CoalescedRun(pass);
    const first = run.request();
    const later = [run.request(), run.request(), run.request()];
    await releaseNext();
    await releaseNext();
    await Promise.all([first, ...later]);
    expect(counts()).toEqual({ started: 2, most: 1 });
  });

  it("resolves a request only after a pass that started after it", async () => {
    const { pass, releaseNext, counts } = gatedPass();
    const run = new CoalescedRun(pass);
    void run.request();
    let settled = false;
    const second = run.request().then(() => (settled = true));
    await releaseNext();
    await Promise.resolve();
    expect(settled).toBe(false);
    await releaseNext();
    await second;
    expect(counts().started).toBe(2);
  });
});
