#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need,
# then runs the gate — fmt, clippy, every test, and the benches compiled.
# protoc is vendored by the build, and the tests start the real server and
# binary themselves. Outside the Rust toolchain the tests need Python's
# openpyxl (a real spreadsheet reader for the daily list) and prometheus_client
# (a real Prometheus text parser for /metrics), installed here in a venv
# under target/ from PyPI; and Debian's Chromium with a CJK font, driven by
# npm's playwright-core (no browser download) for the web console test.
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-shot build has no use for incremental caches, and they cost GBs of
# disk across the test binaries.
export CARGO_INCREMENTAL=0

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== test tools"
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "wqy\|noto sans cjk" || need_apt+=(fonts-wqy-microhei)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# librdkafka (Kafka ingest and events) is built from source by rdkafka-sys.
{ command -v cc && command -v make; } >/dev/null 2>&1 || need_apt+=(build-essential)
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
(cd tests/browser && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
venv=target/test-venv
if ! "$venv/bin/python" -c "import openpyxl, prometheus_client" 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check openpyxl==3.1.5 prometheus_client==0.21.1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
rm -rf target/test-logs
cargo test --all-targets --locked
echo "== personal data in the suite's server logs"
"$venv/bin/python" tests/tools/check_log_masking.py target/test-logs
echo "== cargo bench --no-run"
cargo bench --no-run --locked
echo "== all green"
