#!/usr/bin/env python3
"""A reader of lm-evaluation-harness (0.4.x) result files, written to its schema: finds every results_*.json under a
folder (as lm-eval's output_path layout holds them), checks the fields lm-eval's tools read, checks each task's
samples_<task>_<date>.jsonl beside it, and prints the table lm-eval prints (its utils.make_table logic, rendered
without pytablewriter). Exit 1 with a message naming the file and field on anything missing. Stdlib only."""
import glob
import json
import os
import sys

HIGHER_IS_BETTER_SYMBOLS = {True: "↑", False: "↓"}
RESULT_KEYS = ["results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config", "git_hash",
               "date", "model_name", "model_name_sanitized", "total_evaluation_time_seconds"]
SAMPLE_KEYS = ["doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash",
               "prompt_hash", "target_hash"]


def fail(msg):
    print(f"lm_eval_table: {msg}", file=sys.stderr)
    sys.exit(1)


def make_table(result_dict, column="results", sort_results=False):
    """lm_eval.utils.make_table: one row per (task, metric, filter), stderr beside its metric."""
    column_name = "Tasks" if column == "results" else "Groups"
    headers = [column_name, "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"]
    values = []
    keys = result_dict[column].keys()
    if sort_results:
        keys = sorted(keys)
    for k in keys:
        dic = dict(result_dict[column][k])
        version = result_dict["versions"].get(k, "    N/A")
        n = str(result_dict.get("n-shot", " ").get(k, " "))
        higher_is_better = result_dict.get("higher_is_better", {}).get(k, {})
        if "alias" in dic:
            k = dic.pop("alias")
        for mf, v in sorted(dic.items()):
            m, _, f = mf.partition(",")
            if m.endswith("_stderr"):
                continue
            hib = HIGHER_IS_BETTER_SYMBOLS.get(higher_is_better.get(m), "")
            v = "%.4f" % v if isinstance(v, float) else v
            if m + "_stderr" + "," + f in dic:
                se = dic[m + "_stderr" + "," + f]
                se = "   N/A" if se == "N/A" else "%.4f" % se
                values.append([k, version, f, n, m, hib, v, "±", se])
            else:
                values.append([k, version, f, n, m, hib, v, "", ""])
            k = ""
            version = ""
    lines = ["|" + "|".join(headers) + "|", "|" + "|".join("---" for _ in headers) + "|"]
    for row in values:
        lines.append("|" + "|".join(str(x) for x in row) + "|")
    return "\n".join(lines)


def check_samples(folder, results_path, data):
    date = os.path.basename(results_path)[len("results_"):-len(".json")]
    for task in data["results"]:
        safe = "".join(c if c.isalnum() or c in "_-." else "_" for c in task)
        path = os.path.join(folder, f"samples_{safe}_{date}.jsonl")
        if not os.path.exists(path):
            fail(f"{results_path}: task {task} has no {path}")
        n = 0
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                s = json.loads(line)
                for key in SAMPLE_KEYS:
                    if key not in s:
                        fail(f"{path}:{i + 1}: no field {key}")
                for m in s["metrics"]:
                    if m not in s:
                        fail(f"{path}:{i + 1}: metric {m} listed but has no value")
                if len(s["resps"]) != len(s["filtered_resps"]):
                    fail(f"{path}:{i + 1}: resps and filtered_resps differ in length")
                n += 1
        if n != data["n-samples"][task]["effective"]:
            fail(f"{path}: {n} lines, but n-samples says {data['n-samples'][task]['effective']}")


def main():
    if len(sys.argv) != 2:
        fail("usage: lm_eval_table.py OUTPUT_PATH")
    paths = sorted(glob.glob(os.path.join(sys.argv[1], "*", "results_*.json")))
    if not paths:
        fail(f"no results_*.json under {sys.argv[1]}")
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for key in RESULT_KEYS:
            if key not in data:
                fail(f"{path}: no field {key}")
        for task, cfg in data["configs"].items():
            for key in ("output_type", "metric_list"):
                if key not in cfg:
                    fail(f"{path}: configs.{task} has no {key}")
        check_samples(os.path.dirname(path), path, data)
        cfg = data["config"]
        # lm-eval's __main__ prints this line above the table.
        print(f"{cfg['model']} ({cfg['model_args']}), gen_kwargs: ({cfg.get('gen_kwargs')}), limit: {cfg.get('limit')}, "
              f"num_fewshot: {cfg.get('num_fewshot')}, batch_size: {cfg.get('batch_size')}")
        print(f"model_name: {data['model_name']}")
        print(make_table(data))
        print()


if __name__ == "__main__":
    main()
