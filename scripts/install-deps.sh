#!/usr/bin/env bash
# Installs the Debian packages supra-eval builds against. Idempotent: quiet and quick when all is present.
# CUDA is not installed here: the build uses /usr/local/cuda when nvcc is found and skips CUDA otherwise.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libsentencepiece-dev nlohmann-json3-dev libfmt-dev libsqlite3-dev
  catch2 libopenblas-dev libopenblas-openmp-dev libcli11-dev
  slurm-wlm munge
  libcpp-httplib-dev
  libdnnl-dev  # oneDNN: CPU matmuls with prepacked f32/bf16 weights (engine/cpu)
  clang libclang-rt-14-dev libomp-dev  # scripts/fuzz.sh: libFuzzer + ASan/UBSan runtimes, OpenMP for clang
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
