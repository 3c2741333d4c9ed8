#!/usr/bin/env bash
# Download the local stack's jars from Maven Central into .cache/jars (git-ignored).
#
# (.cache is CACHE_DIR when set, as in schemas/settings/)
#   .cache/jars/kafka                        broker (KRaft), storage tool, Kafka Connect, Log4j 2
#   .cache/jars/plugins/debezium-postgres    Debezium's PostgreSQL connector (Connect plugin.path)
#
# Called by `make jars`; Make skips it while .cache/jars/.installed-stamp is newer than
# infra/pom.xml and this script, so a second run is a no-op (and needs no network).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${CACHE_DIR:-.cache}"
[[ "$CACHE" = /* ]] || CACHE="$PWD/$CACHE"  # absolute: mvn resolves relative paths against infra/
JARS="$CACHE/jars"
STAMP="$JARS/.installed-stamp"

die() { echo "install-jars: $*" >&2; exit 1; }

command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17+ (Debian: apt-get install -y openjdk-17-jdk-headless)"
java_major="$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')"
java_major="${java_major%%.*}"
[[ "$java_major" =~ ^[0-9]+$ && "$java_major" -ge 17 ]] \
    || die "java ${java_major:-?} found, Kafka 4 needs 17+: install a JDK 17+ (Debian: apt-get install -y openjdk-17-jdk-headless)"
command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (Debian: apt-get install -y maven)"

copy() { # profile, output dir, extra args...
    local profile="$1" out="$2"
    shift 2
    local tmp="$out.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local log="$JARS/mvn-$profile.log"
    if ! mvn -B -f infra/pom.xml -P "$profile" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" "$@" >"$log" 2>&1; then
        grep -E '^\[ERROR\]' "$log" | head -n 5 >&2 || true
        die "mvn could not fetch the '$profile' jars (Maven Central reachable?), see $log"
    fi
    rm -rf "$out"
    mv "$tmp" "$out"
    echo "install-jars: $(find "$out" -name '*.jar' | wc -l) jars in $out"
}

mkdir -p "$JARS"
copy kafka "$JARS/kafka"
# Kafka's own classes and SLF4J come from the Connect worker's classpath (plugin isolation
# loads org.apache.kafka.* and org.slf4j.* from the parent): keep them out of the plugin dir.
copy debezium-postgres "$JARS/plugins/debezium-postgres" -DexcludeGroupIds=org.apache.kafka,org.slf4j

touch "$STAMP"
