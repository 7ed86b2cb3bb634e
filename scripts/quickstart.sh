#!/usr/bin/env bash
# The main job on the bundled model (README.md): build, then softmax vs SUPRA on stories260K.
#   1. greedy generation from the bundled softmax model;
#   2. rolling perplexity of a real text at context lengths 64..512 (the model's training length is 512);
#   3. prefill/decode speed and memory of softmax vs SUPRA attention at growing context lengths.
# Results land in out/quickstart/. Set BUILD_DIR to reuse another build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target supra-eval
bin="$build_dir/supra-eval"
model=models/stories260K/stories260K.bin
text=datasets/text/lambada_passages_150.txt
out=out/quickstart
mkdir -p "$out"

echo "== generate (greedy, softmax) =="
"$bin" generate --model "$model" --prompt "Once upon a time" --max-tokens 60 | tee "$out/generate.txt"

echo "== perplexity by context length (softmax) =="
printf "ctx\ttokens\ttoken_perplexity\tbits_per_byte\n" | tee "$out/perplexity.tsv"
for ctx in 64 128 256 512; do
  "$bin" perplexity --model "$model" --file "$text" --ctx "$ctx" >"$out/perplexity_$ctx.txt"
  awk -v ctx="$ctx" -F'\t' '$1=="tokens"{t=$2} $1=="token_perplexity"{p=$2} $1=="bits_per_byte"{b=$2}
       END{printf "%s\t%s\t%s\t%s\n", ctx, t, p, b}' "$out/perplexity_$ctx.txt" | tee -a "$out/perplexity.tsv"
done

echo "== speed and memory: softmax vs SUPRA (stories260K shape; SUPRA feature maps freshly initialised) =="
"$bin" bench --model "$model" --modes softmax,supra --ctx 128,512,2048,8192 --decode-tokens 64 \
  --json "$out/bench.json" | tee "$out/bench.md"
echo "results in $out/"
