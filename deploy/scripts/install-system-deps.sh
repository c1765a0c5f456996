#!/usr/bin/env bash
# Install the system packages latentwire needs, from Debian's archive, when they are missing.
#   java 17+ and maven: run the local Kafka broker (jars resolved from Maven Central by deploy/kafka/pom.xml)
#   prometheus (with promtool): only with --with-prometheus, for the tests that scrape a real server
#   docker-compose: only with --with-compose, for the test that validates deploy/compose/compose.yaml
# Does nothing for what is already installed; needs root (or sudo) only when something is missing.
set -euo pipefail

want=()
command -v java >/dev/null 2>&1 || want+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || want+=(maven)
for flag in "$@"; do
  case "$flag" in
    --with-prometheus)
      command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || want+=(prometheus) ;;
    --with-compose)
      command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || want+=(docker-compose) ;;
    *) echo "unknown option $flag (known: --with-prometheus --with-compose)" >&2; exit 2 ;;
  esac
done
[[ ${#want[@]} -eq 0 ]] && exit 0

echo "installing system packages: ${want[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root to install ${want[*]}; install them and retry" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
