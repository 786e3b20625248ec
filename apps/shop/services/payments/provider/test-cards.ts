/** What the simulated provider does with a card token (API.md's test tokens). */
export type CardBehaviour =
  /** `tok_visa`: charged. */
  | "succeed"
  /** `tok_declined`: declined. */
  | "decline"
  /** `tok_slow`: charged after a delay longer than the payments service's charge timeout. */
  | "slow"
  /** `tok_flaky`: fails transiently (503) on about half the attempts. */
  | "flaky"
  /** Any other token: declined as invalid. */
  | "invalid";

const behaviours: ReadonlyMap<string, CardBehaviour> = new Map([
  ["tok_visa", "succeed"],
  ["tok_declined", "decline"],
  ["tok_slow", "slow"],
  ["tok_flaky", "flaky"],
]);

export function behaviourOf(token: string): CardBehaviour {
  return behaviours.get(token) ?? "invalid";
}

/**
 * What one attempt with `tok_flaky` does: fail before charging, charge but fail to answer (the
 * charge exists; a retry with the same key finds it), or succeed.
 */
export type FlakyOutcome = "fail-before" | "fail-after" | "succeed";

export interface FlakyDeciderOptions {
  /**
   * Makes the sequence reproducible: the outcome of the n-th attempt of a key depends only on
   * (seed, key, n), whatever the interleaving of keys. Default: `Math.random`.
   */
  readonly seed?: number;
  /**
   * Failures in a row for one key before an attempt is let through. Default 2: "about half the
   * attempts" fail, yet a caller retrying 3 times always gets through, so a test of tok_flaky
   * against the saga's retry policy cannot fail by bad luck.
   */
  readonly maxConsecutiveFailures?: number;
  /** Keys whose failure streaks are remembered. Default 10 000 (the oldest are forgotten). */
  readonly maxKeys?: number;
}

export interface FlakyDecider {
  decide(key: string): FlakyOutcome;
}

/** A 32-bit FNV-1a hash mixed through a murmur3 finaliser: uniform enough for a coin flip. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** Decides tok_flaky attempts: half fail, split between failing before and after charging. */
export function createFlakyDecider(options: FlakyDeciderOptions = {}): FlakyDecider {
  const maxFailures = options.maxConsecutiveFailures ?? 2;
  const maxKeys = options.maxKeys ?? 10_000;
  /** Per key: attempts so far and current failure streak. Insertion order = age. */
  const keys = new Map<string, { attempts: number; streak: number }>();
  const { seed } = options;
  return {
    decide(key) {
      const state = keys.get(key) ?? { attempts: 0, streak: 0 };
      const attempt = state.attempts++;
      const roll = seed === undefined ? Math.random() : hash(`${seed}:${key}:${attempt}`);
      let outcome: FlakyOutcome = "succeed";
      if (roll < 0.5 && state.streak < maxFailures) {
        outcome = roll < 0.25 ? "fail-before" : "fail-after";
      }
      state.streak = outcome === "succeed" ? 0 : state.streak + 1;
      keys.delete(key);
      // After a charge (even one whose answer is lost) the key is recorded and never asks again.
      if (outcome === "fail-before") {
        keys.set(key, state);
        if (keys.size > maxKeys) keys.delete(keys.keys().next().value as string);
      }
      return outcome;
    },
  };
}
