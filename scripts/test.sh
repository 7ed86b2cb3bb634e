#!/usr/bin/env bash
# The test command (README.md): installs what is missing, configures, builds, runs every test under ctest, then
# runs the whole suite a second time under another OpenBLAS kernel and two threads per process.
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
first_core=$("$build_dir/tests/supra_blas_core")
echo "test pass 1: the environment's OpenBLAS kernel ($first_core), OMP_NUM_THREADS=1"
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive ctest --test-dir "$build_dir" --output-on-failure -j"$jobs"

# OpenBLAS picks its kernels per processor, and environments force some (OPENBLAS_CORETYPE=Haswell on AVX-512
# machines), so the last bits of every fp32 GEMM differ between machines. A tolerance tuned on one kernel must not
# land: pass 2 forces another kernel this processor can run, with two threads per process.
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
second=""
for core in Haswell SkylakeX Sandybridge Prescott; do
  case "$core" in
    SkylakeX) [[ " $flags " == *" avx512f "* ]] || continue ;;
    Haswell) [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]] || continue ;;
    Sandybridge) [[ " $flags " == *" avx "* ]] || continue ;;
  esac
  if [ "${core,,}" != "${first_core,,}" ]; then second=$core; break; fi
done
if [ -z "$second" ]; then
  echo "test pass 2 skipped: no second x86 OpenBLAS kernel for this processor (first: $first_core)"
  exit 0
fi
got=$(OPENBLAS_CORETYPE=$second "$build_dir/tests/supra_blas_core")
if [ "${got,,}" = "${first_core,,}" ]; then
  echo "test pass 2: OPENBLAS_CORETYPE=$second still runs $got: this OpenBLAS cannot switch kernels" >&2
  exit 1
fi
echo "test pass 2: OPENBLAS_CORETYPE=$second ($got), OMP_NUM_THREADS=2"
# Tests labelled `once` (the fuzz run) do not depend on the BLAS kernel: pass 2 leaves them out.
OPENBLAS_CORETYPE=$second OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive \
  ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" -LE once
