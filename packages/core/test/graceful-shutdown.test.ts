import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { request, Agent } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/graceful-server.ts", import.meta.url));
const repoNode = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url));
// vitest runs on the repo's Node 24 when started through npx; fall back to it explicitly if not.
const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : repoNode;

type LogLine = Record<string, unknown>;

/** Collects the child's JSON log lines and lets the test wait for one. */
function watchLines(child: ChildProcessWithoutNullStreams) {
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  createInterface({ input: child.stdout }).on("line", (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  return {
    lines,
    waitFor: (msg: string): Promise<LogLine> => {
      const found = lines.find((l) => l["msg"] === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match: (l) => l["msg"] === msg, resolve }));
    },
  };
}

function get(port: number, path: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

/** Resolves with the connect error code, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("graceful shutdown of a real process", () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  it("on SIGTERM stops accepting, finishes the in-flight request, and exits 0", async () => {
    const stderr: string[] = [];
    child = spawn(node, [fixture], { stdio: ["pipe", "pipe", "pipe"] });
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child!.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const { lines, waitFor } = watchLines(child);

    const port = (await waitFor("listening"))["port"] as number;
    expect(port).toBeGreaterThan(0);
    expect(await tryConnect(port)).toBe("connected");

    const agent = new Agent({ keepAlive: true });
    try {
      const slow = get(port, "/slow", agent);
      await waitFor("slow request started");

      child.kill("SIGTERM");
      await waitFor("listener closed");

      // The listener is gone: a new connection is refused while the old one is still served.
      expect(await tryConnect(port)).toBe("ECONNREFUSED");
      expect(child.exitCode).toBeNull();

      child.stdin.write("release\n");
      expect(await slow).toEqual({ status: 200, body: "done" });

      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      agent.destroy();
    }
    expect(stderr.join("")).toBe("");
    const messages = lines.map((l) => l["msg"]);
    expect(messages).toContain("signal received");
    expect(messages).toContain("shutdown complete");
    expect(lines.find((l) => l["msg"] === "stopped")?.["step"]).toBe("http");
  });

  it("exits 1 at once on a second signal while draining", async () => {
    child = spawn(node, [fixture], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) =>
      child!.once("exit", (code) => resolve(code)),
    );
    const { waitFor } = watchLines(child);
    const port = (await waitFor("listening"))["port"] as number;
    const agent = new Agent({ keepAlive: true });
    try {
      // Never released: only the second signal can end the drain.
      const slow = get(port, "/slow", agent).catch((err: unknown) => err);
      await waitFor("slow request started");
      child.kill("SIGTERM");
      await waitFor("listener closed");
      child.kill("SIGTERM");
      expect(await exited).toBe(1);
      expect(await slow).toBeInstanceOf(Error);
    } finally {
      agent.destroy();
    }
  });
});
