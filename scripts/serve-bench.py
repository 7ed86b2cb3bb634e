#!/usr/bin/env python3
"""Requests per second of a running `supra-eval serve` for PIQA loglikelihood requests sent the way
lm-evaluation-harness's local-completions sends them: one request per answer choice, sorted longest first
(lm-eval's Collator), `batch` prompts per HTTP request, `concurrent` connections. Compare a server started with
`--cache-mib 0` (no prefix cache) against the default. Stdlib only.

  python3 scripts/serve-bench.py --url http://127.0.0.1:8000 --model stories260K.bin --docs 200 --concurrent 4 --batch 1
"""
import argparse
import json
import os
import threading
import time
import urllib.request


def post(url, body, key):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--model", required=True)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--concurrent", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--order", choices=["length", "doc"], default="length",
                    help="length: lm-eval's order (longest first); doc: each document's choices together")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "datasets", "data", "piqa", "valid.jsonl"))
    a = ap.parse_args()

    def tok(text):
        return post(a.url + "/tokenize", {"prompt": text, "add_special_tokens": False}, a.api_key)["tokens"]

    reqs = []
    with open(a.data, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= a.docs:
                break
            d = json.loads(line)
            ctx = f"Question: {d['goal']}\nAnswer:"
            ctx_ids = tok(ctx)
            for sol in (d["sol1"], d["sol2"]):
                whole = tok(ctx + " " + sol)
                # lm-eval: continuation = enc(ctx + cont)[len(enc(ctx)):]; input left-truncated to max_length
                inp = (ctx_ids + whole[len(ctx_ids):])[-a.max_length:]
                reqs.append(inp)
    if a.order == "length":
        reqs.sort(key=lambda t: (-len(t), tuple(t)))
    batches = [reqs[i:i + a.batch] for i in range(0, len(reqs), a.batch)]
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if not batches:
                    return
                b = batches.pop(0)
            body = {"model": a.model, "prompt": b, "temperature": 0, "max_tokens": 1, "logprobs": 1, "seed": 1234,
                    "echo": True}
            try:
                post(a.url + "/v1/completions", body, a.api_key)
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(str(e))

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.time() - t0
    health = json.load(urllib.request.urlopen(a.url + "/health"))
    print(json.dumps({"requests": len(reqs), "seconds": round(dt, 3), "requests_per_s": round(len(reqs) / dt, 2),
                      "errors": len(errors), "concurrent": a.concurrent, "batch": a.batch, "order": a.order,
                      "fed_tokens": health.get("fed_tokens"), "cached_tokens": health.get("cached_tokens")}))


if __name__ == "__main__":
    main()
