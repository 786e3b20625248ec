import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTemplate } from "./pglite-template.ts";

/** A template becomes a data directory's cluster: only one nobody else could have written is read. */
describe("readTemplate", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plexus-read-template-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file of this user that only this user may write", async () => {
    const path = join(dir, "template.tar");
    await writeFile(path, "cluster");
    await chmod(path, 0o644);
    expect(await (await readTemplate(path))?.text()).toBe("cluster");
  });

  it("refuses a file its group or anyone may write", async () => {
    const path = join(dir, "template.tar");
    await writeFile(path, "cluster");
    for (const mode of [0o664, 0o646]) {
      await chmod(path, mode);
      expect(await readTemplate(path)).toBeUndefined();
    }
  });

  it("refuses a symbolic link, and answers undefined for a missing file", async () => {
    const target = join(dir, "elsewhere.tar");
    await writeFile(target, "cluster");
    await chmod(target, 0o600);
    await symlink(target, join(dir, "template.tar"));
    expect(await readTemplate(join(dir, "template.tar"))).toBeUndefined();
    expect(await readTemplate(join(dir, "missing.tar"))).toBeUndefined();
  });
});
