import { describe, expect, it } from "vitest";
import { behaviourOf, createFlakyDecider, type FlakyOutcome } from "./test-cards.ts";

function run(seed: number, keys: readonly string[], attempts: number): FlakyOutcome[] {
  const decider = createFlakyDecider({ seed });
  return keys.flatMap((key) => Array.from({ length: attempts }, () => decider.decide(key)));
}

describe("test cards", () => {
  it("maps API.md's tokens, and anything else to an invalid card", () => {
    expect(["tok_visa", "tok_declined", "tok_slow", "tok_flaky"].map(behaviourOf)).toEqual([
      "succeed",
      "decline",
      "slow",
      "flaky",
    ]);
    for (const token of ["", "TOK_VISA", "tok_visa ", "tok_mastercard"]) {
      expect(behaviourOf(token)).toBe("invalid");
    }
  });

  it("flaky: the same seed gives the same outcomes per key, whatever the interleaving", () => {
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const sequential = run(3, keys, 3);
    const interleaved = createFlakyDecider({ seed: 3 });
    const byKey = new Map<string, FlakyOutcome[]>(keys.map((k) => [k, []]));
    for (let attempt = 0; attempt < 3; attempt++) {
      for (const key of [...keys].reverse()) byKey.get(key)!.push(interleaved.decide(key));
    }
    expect(keys.flatMap((k) => byKey.get(k)!)).toEqual(sequential);
    expect(run(4, keys, 3)).not.toEqual(sequential);
  });

  it("flaky: about half the first attempts fail, both before and after charging", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `order-${i}`);
    const first = run(11, keys, 1);
    const share = (outcome: FlakyOutcome) =>
      first.filter((o) => o === outcome).length / first.length;
    expect(share("succeed")).toBeGreaterThan(0.4);
    expect(share("succeed")).toBeLessThan(0.6);
    expect(share("fail-before")).toBeGreaterThan(0.15);
    expect(share("fail-after")).toBeGreaterThan(0.15);
  });

  it("flaky: never fails a key more than twice in a row before charging", () => {
    const decider = createFlakyDecider();
    for (let i = 0; i < 500; i++) {
      let streak = 0;
      for (;;) {
        const outcome = decider.decide(`k-${i}`);
        if (outcome !== "fail-before") break;
        streak++;
        expect(streak).toBeLessThanOrEqual(2);
      }
    }
  });
});
