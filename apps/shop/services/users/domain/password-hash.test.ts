import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createPasswordHasher,
  defaultScryptParams,
  formatPasswordHash,
  maxCpuMultiple,
  parsePasswordHash,
  scryptMemoryBytes,
} from "./password-hash.ts";

// Cheap parameters keep the suite fast; one test uses the real defaults.
const cheap = { logN: 10, r: 8, p: 1 };
const hasher = createPasswordHasher({ params: cheap });

/** A syntactically valid hash with these parameters (random-looking salt and key). */
function forged(ln: number, r: number, p: number): string {
  return `$scrypt$ln=${ln},r=${r},p=${p}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
}

describe("password hashing", () => {
  it("defaults to one of OWASP's scrypt settings, and stores them in the hash", async () => {
    // Password Storage Cheat Sheet: N=2^17, r=8, p=1, or an equivalent trade of memory for
    // parallelism (2^16/p=2, 2^15/p=3, 2^14/p=5, 2^13/p=10).
    const owasp = [
      { logN: 17, r: 8, p: 1 },
      { logN: 16, r: 8, p: 2 },
      { logN: 15, r: 8, p: 3 },
      { logN: 14, r: 8, p: 5 },
      { logN: 13, r: 8, p: 10 },
    ];
    expect(owasp).toContainEqual(defaultScryptParams);
    expect(defaultScryptParams).toEqual({ logN: 15, r: 8, p: 3 });
    const real = createPasswordHasher();
    expect(real.params).toEqual(defaultScryptParams);
    const stored = await real.hash("correct horse battery");
    expect(stored.startsWith("$scrypt$ln=15,r=8,p=3$")).toBe(true);
    expect(await real.check("correct horse battery", stored)).toBe("valid");
    expect(await real.check("correct horse batterY", stored)).toBe("invalid");
  });

  it("never stores the password and salts every hash", async () => {
    const a = await hasher.hash("hunter2hunter2");
    const b = await hasher.hash("hunter2hunter2");
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(parsePasswordHash(a)?.salt.length).toBe(16);
    expect(parsePasswordHash(a)?.key.length).toBe(32);
  });

  // (Trailing NUL bytes are the one blind spot: scrypt keys HMAC with the password, and HMAC pads
  // short keys with zeros. Harmless, and standard scrypt behaviour.)
  it("rejects wrong, empty and near-miss passwords", async () => {
    const stored = await hasher.hash("open sesame");
    for (const wrong of ["", "open sesame ", "Open sesame", "open sesam"] as const) {
      expect(await hasher.check(wrong, stored)).toBe("invalid");
    }
    expect(await hasher.check("open sesame", stored)).toBe("valid");
  });

  it("verifies an older, weaker hash with its own parameters and asks for a re-hash", async () => {
    const older = createPasswordHasher({ params: { logN: 9, r: 4, p: 2 } });
    const stored = await older.hash("old parameters");
    expect(stored.startsWith("$scrypt$ln=9,r=4,p=2$")).toBe(true);
    expect(await hasher.check("old parameters", stored)).toBe("valid-stale");
    expect(await hasher.check("wrong parameters", stored)).toBe("invalid");
  });

  it("matches canonically equivalent spellings (NFC)", async () => {
    const stored = await hasher.hash("caf\u00e9 au lait");
    expect(await hasher.check("cafe\u0301 au lait", stored)).toBe("valid");
  });

  it("parses and re-formats a hash string losslessly", async () => {
    const stored = await hasher.hash("format me please");
    const parsed = parsePasswordHash(stored);
    expect(parsed).toBeDefined();
    expect(formatPasswordHash(parsed!)).toBe(stored);
  });

  it.each([
    "",
    "plaintext",
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$aGFzaA",
    "$scrypt$ln=15,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=150,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=15,r=8,p=1$short$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  ])("never verifies against the malformed %j", async (text) => {
    expect(parsePasswordHash(text)).toBeUndefined();
    expect(await hasher.check("anything at all", text)).toBe("malformed");
  });

  describe("bounds on stored parameters", () => {
    it("refuses a stored hash needing more memory than the current parameters", async () => {
      // One step of N or r above the current ones doubles the memory: refused, not computed.
      expect(await hasher.check("x", forged(11, 8, 1))).toBe("out-of-bounds");
      expect(await hasher.check("x", forged(10, 9, 1))).toBe("out-of-bounds");
      expect(await hasher.check("x", forged(10, 8, 2))).toBe("out-of-bounds");
      // The bound the defaults used to allow: ln=20, r=32 is 4 GiB a verify.
      expect(scryptMemoryBytes({ logN: 20, r: 32, p: 16 })).toBeGreaterThan(4 * 1024 ** 3);
      expect(await createPasswordHasher().check("x", forged(20, 32, 16))).toBe("out-of-bounds");
      expect(await createPasswordHasher().check("x", forged(17, 8, 1))).toBe("out-of-bounds");
    });

    it(`refuses more than ${maxCpuMultiple}× the current CPU, and allows up to it`, async () => {
      // Current: N·r·p = 2^10·8·1. Half the N with 8 lanes is 4× the work in less memory.
      expect(await hasher.check("x", forged(9, 8, 2 * maxCpuMultiple + 1))).toBe("out-of-bounds");
      expect(await hasher.check("x", forged(8, 8, 4 * maxCpuMultiple + 1))).toBe("out-of-bounds");
      const heavier = createPasswordHasher({ params: { logN: 9, r: 8, p: 2 * maxCpuMultiple } });
      const stored = await heavier.hash("at the bound");
      expect(await hasher.check("at the bound", stored)).toBe("valid-stale");
    });

    it("refuses zero parameters", async () => {
      for (const text of [forged(0, 8, 1), forged(10, 0, 1), forged(10, 8, 0)]) {
        expect(await hasher.check("x", text)).toBe("out-of-bounds");
      }
    });

    it("never throws, whatever the stored text", async () => {
      const outcomes = new Set(["invalid", "malformed", "out-of-bounds", "valid-stale"]);
      const params = fc.integer({ min: 0, max: 99 });
      const stored = fc.oneof(
        fc.string(),
        fc.tuple(params, params, params).map(([ln, r, p]) => forged(ln, r, p)),
      );
      await fc.assert(
        fc.asyncProperty(stored, async (text) => {
          expect(outcomes).toContain(await hasher.check("some password", text));
        }),
        { numRuns: 200 },
      );
    });
  });

  it("refuses to be configured with parameters one login could not afford", () => {
    expect(() => createPasswordHasher({ params: { logN: 30, r: 8, p: 1 } })).toThrow(RangeError);
    expect(() => createPasswordHasher({ params: { logN: 10, r: 8, p: 0 } })).toThrow(RangeError);
  });
});
