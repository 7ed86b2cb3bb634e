#!/usr/bin/env bash
# The test command (README.md): installs what is missing, configures, builds, runs every test under ctest.
# BUILD_DIR (default build/) and JOBS (default: every core) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$jobs"
# Each test process uses one thread (tests that exercise threading ask for 2): ctest already runs $jobs of
# them side by side, and passive waiting keeps oversubscribed OpenMP threads from spinning.
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive ctest --test-dir "$build_dir" --output-on-failure -j"$jobs"
