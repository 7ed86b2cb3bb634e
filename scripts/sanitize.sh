#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build (CUDA off) in its own build folder, then the whole ctest suite
# under it: any out-of-bounds access, use after free, leak, signed overflow or misaligned load fails the test that
# caused it. Usage: scripts/sanitize.sh [ctest args...]   (BUILD_DIR, default build-sanitize; JOBS, default every core)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build-sanitize}
jobs=${JOBS:-$(nproc)}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUPRA_CUDA=OFF "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$build_dir" -j"$jobs"
# halt_on_error: the first finding fails its test. The suite's children (the CLI the harness tests start) inherit
# these settings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" -LE once "$@"
