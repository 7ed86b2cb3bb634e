#!/usr/bin/env bash
# The main job on the two bundled models (README.md): the softmax stories260K and its SUPRA twin uptrained by this
# tool (models/stories260K-supra), swept over context lengths from 128 to 4096 (8x their training length of 512).
#   1. greedy generation from both models;
#   2. NLU tasks (first 100 documents each) at 128, 512, 2048 and 4096;
#   3. perplexity by position of held-out teacher text (models/stories260K-supra/data/heldout_s13.txt: stories as
#      the teacher wrote them, newlines kept, a blank line between stories; never trained
#      on) at 128 .. 4096: where each model stops using its context;
#   4. passkey and key-value retrieval probes at 256 .. 4096 (prompts sized to each length);
#   5. prefill/decode speed and memory of both models at 128 .. 8192;
#   6. the report: tables and plots regenerated from the store (Markdown, CSV, LaTeX, HTML).
# Everything lands in out/quickstart/results.sqlite; an interrupted job resumes where it stopped. BUILD_DIR picks
# another build folder. About 3 minutes on 2 cores once built.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target supra-eval
bin="$build_dir/supra-eval"
softmax=models/stories260K/stories260K.bin
supra=models/stories260K-supra
heldout=$supra/data/heldout_s13.txt
out=out/quickstart
db=$out/results.sqlite
mkdir -p "$out"

echo "== generate (greedy): softmax, then SUPRA =="
for m in "$softmax" "$supra"; do
  "$bin" generate --model "$m" --prompt "Once upon a time" --max-tokens 60
done | tee "$out/generate.txt"

echo "== NLU tasks x context lengths into $db =="
"$bin" sweep --models "$softmax,$supra" --tasks arc_easy,copa,hellaswag,lambada_openai \
  --ctx 128,512,2048,4096 --limit 100 --db "$db" | tee "$out/summary_nlu.md"

echo "== perplexity by position of held-out text =="
"$bin" sweep --models "$softmax,$supra" --tasks "ppl_by_position:$heldout" \
  --ctx 128,256,512,1024,2048,4096 --limit 12 --db "$db" | tee "$out/summary_ppl.md"

echo "== passkey and key-value retrieval probes =="
"$bin" sweep --models "$softmax,$supra" --tasks passkey,kv_retrieval \
  --ctx 256,512,1024,2048,4096 --limit 10 --db "$db" | tee "$out/summary_probes.md"

echo "== speed and memory: softmax vs SUPRA =="
{
  "$bin" bench --model "$softmax" --modes softmax --ctx 128,512,2048,8192 --decode-tokens 64 --db "$db"
  "$bin" bench --model "$supra" --modes supra --ctx 128,512,2048,8192 --decode-tokens 64 --db "$db"
} | tee "$out/bench.md"

echo "== report (tables, plots, HTML) from $db =="
"$bin" report --db "$db" --out "$out/report"
echo "results in $out/; open $out/report/report.html in a browser"
