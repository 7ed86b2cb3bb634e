#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + libFuzzer, CUDA off, in their own build
# folder) and runs each for SECONDS (default 60), from seed inputs made now out of the bundled files (models/,
# tests/fixtures, datasets/data, and ../shared/datasets when present) and our own writers: no committed blobs.
# Prints per target its run length, executions, executions per second, corpus growth and findings; exits 1 when a
# target found a crash, a leak, undefined behaviour, an over-limit allocation or an escaped non-supra exception
# (the input is kept as FUZZ_BUILD_DIR/findings/<target>-crash-*; rerun it with `FUZZ_BUILD_DIR/tests/fuzz/fuzz_<target> <file>`).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]       TARGET: llama2c safetensors safetensors_index config tokenizer
#                                                    datasets metric (default: all)
# Longer runs: scripts/fuzz.sh 3600 config   (the corpus in FUZZ_BUILD_DIR/corpus/<target> grows across runs).
# FUZZ_BUILD_DIR (default build-fuzz), JOBS (default every core) may be set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
all=(llama2c safetensors safetensors_index config tokenizer datasets metric)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-$(nproc)}
shared="$root/../shared/datasets"

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "SKIPPED: clang++ or the libFuzzer runtime is missing (scripts/install-deps.sh installs clang, libclang-rt-14-dev)"
  exit 0
fi

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
t0=$(date +%s)
CC=clang CXX=clang++ cmake -S . -B "$build" -DSUPRA_FUZZ=ON -DSUPRA_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$flags" "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}" >/dev/null
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - t0 ))s"

bin="$build/tests/fuzz"
seeds_root="$build/seeds"
rm -rf "$seeds_root"

# Seed inputs per target: files copied or cut from the bundled data, and what the target's own writers make
# (SUPRA_FUZZ_SEEDS=<dir>). head -c keeps each under the target's -max_len.
seed_files() {  # target dir max_bytes files...
  local dir=$1 max=$2; shift 2
  local f
  for f in "$@"; do [ -f "$f" ] && head -c "$max" "$f" > "$dir/$(basename "$(dirname "$f")")_$(basename "$f")"; done
  return 0
}
make_seeds() {  # target
  local t=$1 dir="$seeds_root/$1"
  mkdir -p "$dir"
  case "$t" in
    llama2c|safetensors|safetensors_index|config|metric)
      SUPRA_FUZZ_SEEDS="$dir" "$bin/fuzz_$t" >/dev/null 2>&1 || true ;;
  esac
  case "$t" in
    llama2c) head -c 28 models/stories260K/stories260K.bin > "$dir/stories260K_header.bin" ;;
    safetensors) seed_files "$dir" 65536 models/*/model.safetensors ;;
    safetensors_index) seed_files "$dir" 65536 $(find "$shared" -maxdepth 3 -name '*.safetensors.index.json' 2>/dev/null) ;;
    config) seed_files "$dir" 65536 models/*/config.json $(find "$shared" -maxdepth 3 -name 'config.json' 2>/dev/null) ;;
    tokenizer) seed_files "$dir" 1000000 models/stories260K/tok512.bin models/stories260K/tok512.model \
                 $(find "$shared" -maxdepth 3 -name 'tokenizer.model' 2>/dev/null) ;;
    metric)
      # Rows of the SCROLLS fixtures' own answers as predictions against themselves.
      local f
      for f in datasets/data/scrolls_fixtures/*/validation.jsonl; do
        head -n 2 "$f" | sed -E 's/.*"output": ("([^"\\]|\\.)*").*/{"prediction": \1, "references": [\1]}/' \
          > "$dir/$(basename "$(dirname "$f")").jsonl"
      done ;;
    datasets)
      # "<reader index byte><first records of a file that reader reads>"; the index is asked of the target.
      local i name files f
      while read -r i name; do
        case "$name" in
          jsonl|choice) files="datasets/data/copa/copa_dev.llmfoundry.jsonl datasets/data/arc_easy/*.jsonl" ;;
          winogrande) files=datasets/data/winogrande/winogrande_dev.llmfoundry.jsonl ;;
          lambada) files=datasets/data/lambada_openai/lambada_openai_test.llmfoundry.jsonl ;;
          hellaswag) files="datasets/data/hellaswag/*part1*" ;;
          mmlu|csv) files=datasets/data/mmlu/dev/abstract_algebra_dev.csv ;;
          openbookqa) files=datasets/data/openbookqa/openbookqa_dev.official.tsv ;;
          long_qa) files=datasets/data/wikiqa_2k/wikiqa_2k.jsonl ;;
          kv_retrieval) files=datasets/data/kv_pairs_lost_in_middle/kv_pairs_middle_len_2048.jsonl ;;
          quality) files="datasets/data/quality_example/*.jsonl" ;;
          scrolls) files="datasets/data/scrolls_fixtures/*/validation.jsonl tests/fixtures/tok512_llama2c_encode.jsonl" ;;
          piqa) files="" ;;
        esac
        for f in $files; do
          { printf "\\x$(printf %02x "$i")"; head -n 3 "$f" | head -c 60000 || true; } > "$dir/${i}_${name}_$(basename "$(dirname "$f")")_$(basename "$f")"
        done
        if [ "$name" = piqa ]; then
          { printf "\\x$(printf %02x "$i")"; head -n 3 datasets/data/piqa/valid.jsonl; printf '\0'
            head -n 3 datasets/data/piqa/valid-labels.lst; } > "$dir/${i}_piqa"
        fi
      done < <(SUPRA_FUZZ_LIST=1 "$bin/fuzz_datasets" 2>/dev/null)
      ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build/findings" "$build/logs"
status=0
printf "\n| target | seconds | executions | exec/s | seeds | corpus | findings |\n|---|---:|---:|---:|---:|---:|---|\n" \
  > "$build/logs/summary.md"
for t in "${targets[@]}"; do
  make_seeds "$t"
  mkdir -p "$build/corpus/$t"
  log="$build/logs/$t.log"
  start=$(date +%s)
  rc=0
  # -rss_limit_mb/-malloc_limit_mb: an input that makes a loader allocate past them is a finding (a size taken
  # from the file without a cap). -timeout: one input taking longer is a finding (an unbounded loop).
  "$bin/fuzz_$t" "$build/corpus/$t" "$seeds_root/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$build/findings/$t-" \
    > "$log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  nseeds=$(ls "$seeds_root/$t" | wc -l)
  ncorpus=$(ls "$build/corpus/$t" | wc -l)
  found="none"
  if [ "$rc" -ne 0 ]; then
    found="exit $rc: $(grep -m1 -E 'ERROR: |runtime error|finding:|SUMMARY' "$log" | cut -c1-150) (log: $log)"
    status=1
  fi
  printf "| %s | %s | %s | %s | %s | %s | %s |\n" "$t" "$took" "${runs:-0}" "${rate:-0}" "$nseeds" "$ncorpus" "$found" \
    >> "$build/logs/summary.md"
  echo "fuzz: $t ran ${took}s, ${runs:-0} executions, ${rate:-0}/s, findings: $found"
done
cat "$build/logs/summary.md"
exit $status
