import { connect } from "node:net";

/** The servers integration suites may need. */
export type ServerName = "postgres" | "nats" | "rabbitmq" | "redis" | "kafka";

const defaults: Record<ServerName, { url: string; port: number; start: string }> = {
  postgres: {
    url: "postgres://postgres@127.0.0.1:5432/postgres",
    port: 5432,
    start: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  },
  nats: {
    url: "nats://127.0.0.1:4222",
    port: 4222,
    start:
      "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server",
  },
  rabbitmq: {
    url: "amqp://guest:guest@127.0.0.1:5672",
    port: 5672,
    start: "rabbitmq-server -detached",
  },
  redis: {
    url: "redis://127.0.0.1:6379",
    port: 6379,
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  },
  kafka: {
    url: "kafka://127.0.0.1:9092",
    port: 9092,
    start: "bash scripts/kafka.sh (from the repository's root; it needs java 17 and mvn)",
  },
};

/**
 * The URL of a test server: `PLEXUS_TEST_<NAME>_URL` when set (e.g. `PLEXUS_TEST_POSTGRES_URL`),
 * else, for Kafka, the first of `KAFKA_BROKERS` (the cluster Plexus itself is pointed at, as
 * `kafka://host:port`), else the local default (127.0.0.1 on the server's standard port).
 */
export function serverUrl(name: ServerName): string {
  const url = process.env[`PLEXUS_TEST_${name.toUpperCase()}_URL`];
  if (url !== undefined) return url;
  const broker = name === "kafka" ? process.env["KAFKA_BROKERS"]?.split(",")[0]?.trim() : "";
  return broker ? `kafka://${broker}` : defaults[name].url;
}

export interface ServerProbeOptions {
  /** Where the server is. Default: {@link serverUrl}. Only host and port are used. */
  url?: string;
  /**
   * Bound of the TCP probe. Default: 1000 ms: loopback answers in well under a millisecond, and a
   * filtered remote port must not stall a test file's collection for long.
   */
  timeoutMs?: number;
  /** Aborts the probe (counted as unreachable). */
  signal?: AbortSignal;
}

function normalise(urlOrOptions: string | ServerProbeOptions): ServerProbeOptions {
  return typeof urlOrOptions === "string" ? { url: urlOrOptions } : urlOrOptions;
}

function endpoint(name: ServerName, url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = parsed.port === "" ? defaults[name].port : Number(parsed.port);
  return { host, port };
}

/** Probes a TCP port: true when something accepts a connection within the timeout. */
function probe(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const socket = connect({ host, port });
    const done = (up: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(up);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether a server accepts TCP connections (at `url`, or per the options). Never throws and never logs: the policy (skip or
 * fail) is {@link requireServer}'s.
 */
export async function serverAvailable(
  name: ServerName,
  urlOrOptions: string | ServerProbeOptions = {},
): Promise<boolean> {
  const options = normalise(urlOrOptions);
  const { host, port } = endpoint(name, options.url ?? serverUrl(name));
  return probe(host, port, options.timeoutMs ?? 1000, options.signal);
}

/**
 * Decides whether an integration suite that needs `name` runs (at `url`, default
 * {@link serverUrl}). When the server is reachable: true.
 * When it is not: under `CI=true` it throws (a missing server is a failure in CI, never a silent
 * skip); elsewhere it prints a loud warning with the command that starts the server, and returns
 * false so the suite skips.
 *
 * @example
 * const pg = await requireServer("postgres");
 * describe.runIf(pg)("orders on Postgres", () => { ... });
 */
export async function requireServer(
  name: ServerName,
  urlOrOptions: string | ServerProbeOptions = {},
): Promise<boolean> {
  const options = normalise(urlOrOptions);
  const url = options.url ?? serverUrl(name);
  if (await serverAvailable(name, { ...options, url })) return true;
  const { host, port } = endpoint(name, url);
  const where = `${name} at ${host}:${port}`;
  if (process.env["CI"] === "true") {
    throw new Error(
      `${where} is not reachable, and CI=true makes a missing server a failure. ` +
        `Start it: ${defaults[name].start}`,
    );
  }
  const bar = "!".repeat(78);
  console.warn(
    [
      "",
      bar,
      `!!! SKIPPING TESTS: ${where} is not reachable.`,
      `!!! The suites that need ${name} did NOT run; this run proves nothing about them.`,
      `!!! Start it (as root): ${defaults[name].start}`,
      `!!! (Under CI=true this is a failure, not a skip.)`,
      bar,
      "",
    ].join("\n"),
  );
  return false;
}
