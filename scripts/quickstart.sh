#!/usr/bin/env bash
# The main job on the bundled model (README.md): build, then a context-length sweep and softmax vs SUPRA speed.
#   1. greedy generation from the bundled softmax model;
#   2. a sweep of NLU tasks (first 100 documents each) and rolling perplexity of a real text at context lengths
#      128, 256, 512 (the model's training length) and 1024 (beyond it) into out/quickstart/results.sqlite;
#      it resumes where it stopped if interrupted;
#   3. prefill/decode speed and memory of softmax vs SUPRA attention at growing context lengths (into the store);
#   4. the report: the paper's tables and plots regenerated from the store, as Markdown, CSV, LaTeX and HTML.
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

echo "== sweep: tasks x context lengths into $out/results.sqlite =="
"$bin" sweep --models "$model" --tasks "arc_easy,copa,hellaswag,lambada_openai,perplexity:$text" \
  --ctx 128,256,512,1024 --limit 100 --db "$out/results.sqlite" | tee "$out/summary.md"

echo "== speed and memory: softmax vs SUPRA (stories260K shape; SUPRA feature maps freshly initialised) =="
"$bin" bench --model "$model" --modes softmax,supra --ctx 128,512,2048,8192 --decode-tokens 64 \
  --json "$out/bench.json" --db "$out/results.sqlite" | tee "$out/bench.md"

echo "== report (tables, plots, HTML) from $out/results.sqlite =="
"$bin" report --db "$out/results.sqlite" --out "$out/report"
echo "results in $out/; open $out/report/report.html in a browser"
