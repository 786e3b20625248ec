#!/usr/bin/env bash
# The Kafka broker of dev and CI: a single-node KRaft broker (controller and broker in one JVM) on
# 127.0.0.1:9092, from Apache Kafka's jars on Maven Central (Debian and npm do not package Kafka).
#
#   scripts/kafka.sh          start it unless something already listens on 9092, wait until it accepts
#   scripts/kafka.sh stop     stop the broker this script started (SIGTERM: a clean shutdown)
#   scripts/kafka.sh kill     kill it (SIGKILL: a crash); both wait until the process is gone
#
# A private broker (tests that stop and start a server of their own; never the shared one on
# 9092, which other suites use) is another instance: its own ports and its own directory, the
# jars shared. Starting it again with the same three settings starts it on the same data.
#   PLEXUS_KAFKA_PORT             the client port (default 9092)
#   PLEXUS_KAFKA_CONTROLLER_PORT  the KRaft controller's port (default 9093)
#   PLEXUS_KAFKA_DIR              config, storage, pid and log (default: the cache's version dir)
# A private instance never "uses" what already listens on its port: that is an error.
#
# Everything lives in a cache outside the clone, so fresh clones (CI) reuse it: the jars (copied
# from ~/.m2 by Maven, once per Kafka version), the formatted storage, the config and the log.
#   PLEXUS_KAFKA_HOME   the cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/plexus-kafka)
#   KAFKA_HEAP_OPTS     the JVM heap (default: -Xms256m -Xmx512m; the broker idles in far less)
# Plexus finds a broker through KAFKA_BROKERS (host:port[,host:port...]); this one is 127.0.0.1:9092.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
home="${PLEXUS_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/plexus-kafka}/$version"
libs="$home/libs"
instance="${PLEXUS_KAFKA_DIR:-$home}"
data="$instance/data"
config="$instance/server.properties"
pidfile="$instance/kafka.pid"
port="${PLEXUS_KAFKA_PORT:-9092}"
controller_port="${PLEXUS_KAFKA_CONTROLLER_PORT:-9093}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
say() { echo "kafka.sh: $*"; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

gone() { ! kill -0 "$1" 2>/dev/null; }

case "${1:-start}" in
  stop | kill)
    if pid="$(running_pid)"; then
      if [ "$1" = "kill" ]; then
        say "killing the broker (pid $pid)"
        kill -9 "$pid"
      else
        say "stopping the broker (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 60); do gone "$pid" && exit 0; sleep 0.5; done
        say "the broker did not stop within 30 s; killing it"
        kill -9 "$pid"
      fi
      for _ in $(seq 1 60); do gone "$pid" && exit 0; sleep 0.5; done
      say "the broker (pid $pid) is still there" >&2
      exit 1
    fi
    say "no broker started by this script is running"
    exit 0
    ;;
  start) ;;
  *)
    say "usage: scripts/kafka.sh [start|stop|kill]" >&2
    exit 2
    ;;
esac

if port_open "$port" && ! running_pid >/dev/null; then
  if [ "$instance" != "$home" ]; then
    say "127.0.0.1:$port is taken by another process; choose another PLEXUS_KAFKA_PORT" >&2
    exit 1
  fi
  say "something already listens on 127.0.0.1:$port; using it"
  exit 0
fi

command -v java >/dev/null || { say "java (17 or later) is needed: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
mkdir -p "$home" "$instance"

# The jars, once per version: a marker written last tells a complete copy from an interrupted one.
if [ ! -f "$libs/.complete" ]; then
  command -v mvn >/dev/null || { say "mvn is needed to fetch Kafka's jars: apt-get install -y maven" >&2; exit 1; }
  say "resolving Apache Kafka $version from Maven Central into $libs"
  rm -rf "$libs"
  mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
fi
classpath="$libs/*"

cat >"$config" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Plexus creates its topics with explicit partitions; a typo must not create one.
auto.create.topics.enable=false
# Tests join and leave groups all the time: no initial delay, and short sessions allowed, so a
# member that died is replaced in about a second rather than the default 45.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=500
group.consumer.min.session.timeout.ms=500
group.consumer.session.timeout.ms=6000
group.consumer.min.heartbeat.interval.ms=100
group.consumer.heartbeat.interval.ms=500
EOF

cat >"$instance/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $instance/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
EOF

java_cmd=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$instance/log4j2.properties" -cp "$classpath")

# Formats the storage once: the meta.properties it writes is what a formatted directory has.
if [ ! -f "$data/meta.properties" ]; then
  say "formatting the KRaft storage in $data"
  cluster_id="$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid)"
  "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >/dev/null
fi

if pid="$(running_pid)"; then
  say "the broker (pid $pid) is starting; waiting for it"
else
  say "starting the broker on 127.0.0.1:$port (log: $instance/kafka.log)"
  nohup setsid "${java_cmd[@]}" kafka.Kafka "$config" >"$instance/kafka.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
fi

for _ in $(seq 1 120); do
  if port_open "$port"; then
    say "the broker accepts connections on 127.0.0.1:$port (pid $pid)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    say "the broker exited; the end of its output:" >&2
    tail -n 30 "$instance/kafka.out" "$instance/kafka.log" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.5
done
say "the broker did not accept connections within 60 s; see $instance/kafka.log" >&2
exit 1
