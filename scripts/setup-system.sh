#!/usr/bin/env bash
# Installs the Debian packages trustmap's tests use, only when missing: PostgreSQL (the registry's
# production database), Chromium (web UI tests, graph screenshots, Mermaid CLI), Graphviz (`dot` renders
# `trustmap graph --format dot` in the tests) and a Java 17+ runtime (PySpark 4). Idempotent;
# needs root or sudo.
set -euo pipefail
java_major() {  # major version of the `java` on PATH, 0 when there is none
  java -version 2>&1 | sed -n -E '1s/.*version "(1\.)?([0-9]+).*/\2/p' | grep -E '^[0-9]+$' || echo 0
}
need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then
  need+=(default-jre-headless)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
if [ "$(java_major)" -lt 17 ]; then
  echo "warning: java $(java_major) is first on PATH; PySpark 4 needs Java 17+ (install openjdk-17-jre-headless" \
    "or newer and select it with update-alternatives --config java, or set JAVA_HOME)" >&2
fi
