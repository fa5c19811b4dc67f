#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined broker+controller) on 127.0.0.1, without Docker.
#
#   docker/kafka/broker.sh fetch            download the broker's jars from Maven Central (idempotent)
#   docker/kafka/broker.sh start [DIR]      fetch, format a fresh log dir in DIR, start, wait until it answers;
#                                           prints `dir=DIR` and `bootstrap=HOST:PORT` (also in DIR/bootstrap),
#                                           and the secured listeners: `sasl_bootstrap=` (SASL_PLAINTEXT with
#                                           PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for user `sasl_user=` /
#                                           `sasl_password=`), `ssl_bootstrap=` (TLS) and `ssl_ca=` (the PEM
#                                           certificate to trust: self-signed for 127.0.0.1, made by keytool)
#   docker/kafka/broker.sh stop DIR         stop the broker started in DIR and remove DIR
#   docker/kafka/broker.sh crash DIR        kill it with SIGKILL (a crash), keeping its storage and ports
#   docker/kafka/broker.sh restart DIR      start it again on the same storage and ports, wait until it answers
#
# Jars are cached in .cache/kafka/libs (override with TCPREUSE_KAFKA_CACHE); after the first fetch
# nothing is downloaded again. Ports are picked free at start. Needs Java 17+ and Maven.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${TCPREUSE_KAFKA_CACHE:-$root/.cache/kafka}"
libs="$cache/libs"

die() { echo "broker.sh: $*" >&2; exit 1; }

# Credentials of the throw-away test broker (not secrets: it listens on 127.0.0.1 only).
SASL_USER=tcpreuse
SASL_PASSWORD=tcpreuse-secret
TLS_PASSWORD=tcpreuse-tls

fetch() {
  command -v java >/dev/null || die "java not found (Kafka needs Java 17+)"
  if [ -f "$libs/.complete" ] && [ "$libs/.complete" -nt "$here/pom.xml" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (needed once, to fetch Kafka's jars from Maven Central)"
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2 \
    || die "could not fetch Kafka's jars from Maven Central"
  touch "$libs/.complete"
}

free_port() {
  # Ask the kernel for a free port; the tiny race until Kafka binds it is acceptable for tests.
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  fetch
  local dir="${1:-}"
  if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/tcpreuse-kafka.XXXXXX")"; fi
  # Whatever happens before the broker answers, leave no process and no folder behind.
  trap 'stop "$dir"' ERR
  mkdir -p "$dir/logs" "$dir/data"
  local port ctl sasl ssl
  port="$(free_port)"
  ctl="$(free_port)"
  while [ "$ctl" = "$port" ]; do ctl="$(free_port)"; done
  sasl="$(free_port)"
  while [ "$sasl" = "$port" ] || [ "$sasl" = "$ctl" ]; do sasl="$(free_port)"; done
  ssl="$(free_port)"
  while [ "$ssl" = "$port" ] || [ "$ssl" = "$ctl" ] || [ "$ssl" = "$sasl" ]; do ssl="$(free_port)"; done
  # A throw-away TLS identity for the SSL listener: self-signed, valid for 127.0.0.1, so a client
  # that trusts ca.pem verifies the broker as it would a real one.
  mkdir -p "$dir/tls"
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 7 -dname "CN=127.0.0.1" \
    -ext "SAN=IP:127.0.0.1" -storetype PKCS12 -keystore "$dir/tls/broker.p12" \
    -storepass "$TLS_PASSWORD" -keypass "$TLS_PASSWORD" >"$dir/logs/keytool.log" 2>&1 \
    || { cat "$dir/logs/keytool.log" >&2; die "keytool could not make the broker's TLS certificate"; }
  keytool -exportcert -rfc -alias broker -keystore "$dir/tls/broker.p12" -storepass "$TLS_PASSWORD" \
    -file "$dir/tls/ca.pem" >>"$dir/logs/keytool.log" 2>&1 \
    || { cat "$dir/logs/keytool.log" >&2; die "keytool could not export the broker's certificate"; }
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctl,SASL_PLAINTEXT://127.0.0.1:$sasl,SSL://127.0.0.1:$ssl
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl,SSL://127.0.0.1:$ssl
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=$TLS_PASSWORD
ssl.key.password=$TLS_PASSWORD
ssl.client.auth=none
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# tcpreuse stamps records with event time (capture time); with time-based retention a replayed
# capture from last year would be deleted at the next retention check. Tests keep everything.
log.retention.ms=-1
log.retention.bytes=-1
EOF
  cat >"$dir/log4j2.properties" <<EOF
status=error
appender.file.type=File
appender.file.name=file
appender.file.fileName=$dir/logs/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=${TCPREUSE_KAFKA_LOG_LEVEL:-WARN}
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka.server.KafkaServer
logger.kafka.level=INFO
EOF
  local jvm=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")
  # SCRAM users live in the cluster metadata: KRaft writes them when the storage is formatted.
  "${jvm[@]}" kafka.tools.StorageTool format -t "$(uuid_like)" -c "$dir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    >"$dir/logs/format.log" 2>&1 || { cat "$dir/logs/format.log" >&2; stop "$dir"; die "formatting storage failed"; }
  launch "$dir" "$port"
  trap - ERR
  # With TCPREUSE_KAFKA_OWNER_PID set (the test runner does), the broker goes when its owner goes,
  # even if the owner is killed before it can stop it.
  if [ -n "${TCPREUSE_KAFKA_OWNER_PID:-}" ]; then
    nohup bash -c "while kill -0 $TCPREUSE_KAFKA_OWNER_PID 2>/dev/null && [ -d '$dir' ]; do sleep 2; done; [ -d '$dir' ] && '$here/broker.sh' stop '$dir'" \
      >/dev/null 2>&1 &
  fi
  echo "dir=$dir"
  echo "bootstrap=127.0.0.1:$port"
  echo "sasl_bootstrap=127.0.0.1:$sasl"
  echo "sasl_user=$SASL_USER"
  echo "sasl_password=$SASL_PASSWORD"
  echo "ssl_bootstrap=127.0.0.1:$ssl"
  echo "ssl_ca=$dir/tls/ca.pem"
}

# Runs the broker of a formatted $dir and waits until it answers on $port (start, restart).
launch() {
  local dir="$1" port="$2"
  local jvm=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")
  nohup "${jvm[@]}" kafka.Kafka "$dir/server.properties" >>"$dir/logs/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  # "Answers" means a Kafka client can fetch metadata, not merely that the port is open.
  local deadline=$((SECONDS + 90))
  until node "$here/wait-ready.js" "127.0.0.1:$port" 2>/dev/null; do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      tail -30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 || true
      stop "$dir"
      die "broker exited during start-up (its log is printed above)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -30 "$dir/logs/server.log" >&2 || true
      stop "$dir"
      die "broker did not answer within 90 s (its log is printed above)"
    fi
    sleep 0.5
  done
}

# Kills the broker of $dir at once (SIGKILL, as a crash), keeping its storage and ports for restart.
crash() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -f "$dir/pid" ] || die "crash needs the directory start printed"
  kill -KILL "$(cat "$dir/pid")" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$(cat "$dir/pid")" 2>/dev/null || break; sleep 0.2; done
}

# Starts the broker of $dir again on the same storage and ports (after crash or stop of the process only).
restart() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -f "$dir/server.properties" ] || die "restart needs the directory start printed"
  fetch
  local bootstrap
  bootstrap="$(cat "$dir/bootstrap")"
  launch "$dir" "${bootstrap##*:}"
  echo "bootstrap=$bootstrap"
}

uuid_like() {
  # A KRaft cluster id: 16 random bytes, base64url without padding (what kafka-storage random-uuid
  # prints). Like Kafka's Uuid.randomUuid, never one starting with "-": kafka-storage's argument
  # parser takes "--cluster-id -x..." for a missing value (1 run in 64 failed to format).
  node -e 'const c = require("crypto"); let id; do id = c.randomBytes(16).toString("base64url"); while (id.startsWith("-")); console.log(id)'
}

stop() {
  local dir="${1:-}"
  [ -n "$dir" ] && [ -d "$dir" ] || die "stop needs the directory start printed"
  if [ -f "$dir/pid" ]; then
    local pid
    pid="$(cat "$dir/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "${1:-}" ;;
  stop) shift; stop "${1:-}" ;;
  crash) shift; crash "${1:-}" ;;
  restart) shift; restart "${1:-}" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
