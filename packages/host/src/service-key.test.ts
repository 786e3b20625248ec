import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadServiceKey, serviceKeyFile } from "./service-key.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plexus-key-"));
  dirs.push(dir);
  return dir;
}

describe("loadServiceKey", () => {
  it("generates a key under the data dir with mode 0600 and reuses it on restart", async () => {
    const dataDir = join(await tempDir(), "nested", ".data");
    const first = await loadServiceKey({ config: {}, dataDir });
    expect(first.byteLength).toBe(32);
    const path = join(dataDir, serviceKeyFile);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(path, "utf8")).trim(), "base64url")).toEqual(
      Buffer.from(first),
    );
    const again = await loadServiceKey({ config: {}, dataDir });
    expect(Buffer.from(again)).toEqual(Buffer.from(first));
  });

  it("gives concurrent first starts on one data dir the same key", async () => {
    const dataDir = await tempDir();
    const keys = await Promise.all(
      Array.from({ length: 4 }, () => loadServiceKey({ config: {}, dataDir })),
    );
    for (const key of keys) expect(Buffer.from(key)).toEqual(Buffer.from(keys[0]!));
  });

  it("takes PLEXUS_SERVICE_KEY when set, and writes nothing", async () => {
    const dataDir = await tempDir();
    const bytes = randomBytes(32);
    const key = await loadServiceKey({
      config: { PLEXUS_SERVICE_KEY: bytes.toString("base64url") },
      dataDir,
    });
    expect(Buffer.from(key)).toEqual(bytes);
    await expect(stat(join(dataDir, serviceKeyFile))).rejects.toThrow(/ENOENT/);
  });

  it("refuses an invalid PLEXUS_SERVICE_KEY with a message saying how to make one", async () => {
    await expect(
      loadServiceKey({ config: { PLEXUS_SERVICE_KEY: "secret" }, dataDir: await tempDir() }),
    ).rejects.toThrow(
      /^PLEXUS_SERVICE_KEY must be at least 32 random bytes in base64url \(make one with: node -e/,
    );
  });

  it("refuses a key file other users can read, saying how to fix it", async () => {
    const dataDir = await tempDir();
    await loadServiceKey({ config: {}, dataDir });
    const path = join(dataDir, serviceKeyFile);
    await chmod(path, 0o644);
    await expect(loadServiceKey({ config: {}, dataDir })).rejects.toThrow(
      `${path} can be read by other users (mode 644): run "chmod 600 ${path}"`,
    );
  });
});
