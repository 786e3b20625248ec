import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore.ts";

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("Semaphore", () => {
  it("lets `limit` holders in, then serves waiters first come, first served", async () => {
    const semaphore = new Semaphore(2);
    const order: string[] = [];
    await semaphore.acquire();
    await semaphore.acquire();
    void semaphore.acquire().then(() => order.push("a"));
    void semaphore.acquire().then(() => order.push("b"));
    await tick();
    expect(order).toEqual([]);
    expect(semaphore.waiting).toBe(2);
    semaphore.release();
    await tick();
    expect(order).toEqual(["a"]);
    semaphore.release();
    await tick();
    expect(order).toEqual(["a", "b"]);
    semaphore.release();
    semaphore.release();
    expect(semaphore.active).toBe(0);
  });

  it("refuses a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
