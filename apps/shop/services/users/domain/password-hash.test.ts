import { describe, expect, it } from "vitest";
import {
  defaultScryptParams,
  formatPasswordHash,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from "./password-hash.ts";

// Cheap parameters keep the suite fast; one test uses the real defaults.
const cheap = { logN: 10, r: 8, p: 1 };

describe("password hashing", () => {
  it("round-trips with the default parameters, which are stored in the hash", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(stored.startsWith("$scrypt$ln=15,r=8,p=1$")).toBe(true);
    expect(parsePasswordHash(stored)?.params).toEqual(defaultScryptParams);
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterY", stored)).toBe(false);
  });

  it("never stores the password and salts every hash", async () => {
    const a = await hashPassword("hunter2hunter2", cheap);
    const b = await hashPassword("hunter2hunter2", cheap);
    expect(a).not.toBe(b);
    expect(a).not.toContain("hunter2");
    expect(parsePasswordHash(a)?.salt.length).toBe(16);
    expect(parsePasswordHash(a)?.key.length).toBe(32);
  });

  // (Trailing NUL bytes are the one blind spot: scrypt keys HMAC with the password, and HMAC pads
  // short keys with zeros. Harmless, and standard scrypt behaviour.)
  it("rejects wrong, empty and near-miss passwords", async () => {
    const stored = await hashPassword("open sesame", cheap);
    for (const wrong of ["", "open sesame ", "Open sesame", "open sesam"] as const) {
      expect(await verifyPassword(wrong, stored)).toBe(false);
    }
    expect(await verifyPassword("open sesame", stored)).toBe(true);
  });

  it("verifies with the parameters recorded in the hash, not the current defaults", async () => {
    const stored = await hashPassword("old parameters", { logN: 11, r: 4, p: 2 });
    expect(stored.startsWith("$scrypt$ln=11,r=4,p=2$")).toBe(true);
    expect(await verifyPassword("old parameters", stored)).toBe(true);
  });

  it("matches canonically equivalent spellings (NFC)", async () => {
    const stored = await hashPassword("caf\u00e9 au lait", cheap);
    expect(await verifyPassword("cafe\u0301 au lait", stored)).toBe(true);
  });

  it("parses and re-formats a hash string losslessly", async () => {
    const stored = await hashPassword("format me please", cheap);
    const parsed = parsePasswordHash(stored);
    expect(parsed).toBeDefined();
    expect(formatPasswordHash(parsed!)).toBe(stored);
  });

  it.each([
    "",
    "plaintext",
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$aGFzaA",
    "$scrypt$ln=15,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=0,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=15,r=99,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=15,r=8,p=1$short$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  ])("refuses to parse (and never verifies against) %j", async (text) => {
    expect(parsePasswordHash(text)).toBeUndefined();
    expect(await verifyPassword("anything at all", text)).toBe(false);
  });

  it("refuses unsafe parameters when hashing", async () => {
    await expect(hashPassword("whatever1", { logN: 30, r: 8, p: 1 })).rejects.toThrow(RangeError);
  });
});
