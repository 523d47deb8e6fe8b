#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need,
# then runs the gate — fmt, clippy, every test, and the benches compiled.
# Nothing outside the Rust toolchain is needed yet: protoc is vendored by the
# build, and the tests start the real server and binary themselves.
set -euo pipefail
cd "$(dirname "$0")/.."


echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked
echo "== cargo bench --no-run"
cargo bench --no-run --locked
echo "== all green"
