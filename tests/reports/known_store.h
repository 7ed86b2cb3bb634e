#pragma once
// The known store of the report tests: runs with known metrics (Table 1 and 2 models, a softmax/SUPRA pair, passkey
// and perplexity-by-position probes) and bench rows, built once per test process, and its report.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "reports/report.h"
#include "store/store.h"

namespace supra::test {

namespace fs = std::filesystem;
using reports::ReportOptions;
using reports::write_report;

// Every temporary path of this process, removed when it exits (each test runs in its own process under ctest).
struct TempFiles {
  std::vector<fs::path> paths;
  ~TempFiles() {
    std::error_code ec;
    for (const fs::path& p : paths) {
      fs::remove_all(p, ec);
      for (const char* ext : {"-wal", "-shm", ".log"}) fs::remove(p.string() + ext, ec);
    }
  }
};
inline TempFiles g_temp;

inline fs::path temp_path(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_reports_" + name + "_" + std::to_string(::getpid()));
  g_temp.paths.push_back(p);
  g_temp.paths.push_back(p.string() + ".sqlite");
  return p;
}

inline fs::path fresh_db(const std::string& name) {
  fs::path p = temp_path(name).string() + ".sqlite";
  for (const char* ext : {"", "-wal", "-shm"}) fs::remove(p.string() + ext);
  return p;
}

inline std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct M {
  double value;
  double stderr_ = std::nan("");
  int64_t n = 100;
};

struct RunSpec {
  std::string model, sha, mode, task;
  int64_t ctx = 0, train_ctx = 0;
  std::map<std::string, M> metrics;
  int64_t limit = -1;
  bool finish = true;
  uint64_t seed = 1234;
  int shots = 0;
};

inline int64_t add_run(Store& s, const RunSpec& r) {
  RunKey k;
  k.model = r.model;
  k.model_sha256 = r.sha;
  k.mode = r.mode;
  k.form = r.mode == "supra" ? "chunked" : "";
  k.task = r.task;
  k.task_version = 1;
  k.shots = r.shots;
  k.seed = r.seed;
  k.ctx = r.ctx;
  k.truncation = "left";
  k.dtype = "f32";
  k.device = "cpu";
  k.limit = r.limit;
  int64_t n = 0;
  for (auto& [name, m] : r.metrics) n = std::max(n, m.n);
  const int64_t id = s.open_run(k, n, r.train_ctx, {{"test", true}}, "abc123def456");
  if (r.finish) {
    std::vector<MetricRow> rows;
    for (auto& [name, m] : r.metrics) rows.push_back({name, m.value, m.stderr_, m.n, "mean", name != "perplexity"});
    s.finish_run(id, rows);
  }
  return id;
}

inline const std::string kLlama = "/models/Llama-2-7b-hf/";
inline const std::string kMistralSupra = "ckpt/mistral-supra";
inline const std::string kStories = "models/stories260K/stories260K.bin";
inline const std::string kStoriesSupra = "models/stories260K-supra.bin";

// The known store every test reads.
inline void fill_store(Store& s) {
  // Table 1: Llama complete; mistral-supra without MMLU and with HellaSwag acc only (acc_norm missing).
  const std::map<std::string, std::map<std::string, M>> llama = {
      {"hellaswag", {{"acc", {0.5712, 0.0049, 10042}}, {"acc_norm", {0.761234, 0.004251, 10042}}}},
      {"piqa", {{"acc", {0.78, 0.0097, 1838}}, {"acc_norm", {0.79107, 0.0095, 1838}}}},
      {"winogrande", {{"acc", {0.690608, 0.013, 1267}}}},
      {"arc_easy", {{"acc", {0.763047, 0.0087, 2376}}, {"acc_norm", {0.745, 0.0089, 2376}}}},
      {"arc_challenge", {{"acc", {0.43, 0.0145, 1172}}, {"acc_norm", {0.463311, 0.0146, 1172}}}},
      {"mmlu", {{"acc", {0.458734, 0.004, 14042}}}},
  };
  for (auto& [task, ms] : llama) add_run(s, {kLlama, "aaaa1111", "softmax", task, 4096, 4096, ms});
  // A later, smaller (--limit) run of the same cell: the table must keep the complete run.
  add_run(s, {kLlama, "aaaa1111", "softmax", "hellaswag", 4096, 4096, {{"acc_norm", {0.9, 0.03, 10}}}, 10});
  // An unfinished run never shows.
  add_run(s, {kLlama, "aaaa1111", "softmax", "boolq", 4096, 4096, {{"acc", {0.5, 0.01, 10}}}, -1, false});

  add_run(s, {kMistralSupra, "bbbb2222", "supra", "hellaswag", 2048, 2048, {{"acc", {0.6, 0.005, 10042}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "piqa", 2048, 2048, {{"acc_norm", {0.801, 0.0093, 1838}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "winogrande", 2048, 2048, {{"acc", {0.7032, 0.0128, 1267}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "arc_easy", 2048, 2048, {{"acc", {0.7593, 0.0088, 2376}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "arc_challenge", 2048, 2048,
              {{"acc_norm", {0.4577, 0.0146, 1172}}}});
  // A real zero is a zero.
  add_run(s, {kStories, "cccc3333", "softmax", "winogrande", 512, 512, {{"acc", {0.0, 0.0, 50}}}});

  // Table 2: qasper F1 (already x 100) across context lengths; narrative_qa at one length.
  add_run(s, {kLlama, "aaaa1111", "softmax", "qasper", 2048, 4096, {{"f1", {23.1234, 1.1, 416}}}});
  add_run(s, {kLlama, "aaaa1111", "softmax", "qasper", 4096, 4096, {{"f1", {27.5, 1.2, 416}}}});
  add_run(s, {kLlama, "aaaa1111", "softmax", "qasper", 8192, 4096, {{"f1", {6.25, 0.5, 416}}}});
  add_run(s, {kLlama, "aaaa1111", "softmax", "narrative_qa", 2048, 4096, {{"f1", {21.005, 0.9, 300}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "qasper", 2048, 2048, {{"f1", {19.444, 1.0, 416}}}});
  add_run(s, {kMistralSupra, "bbbb2222", "supra", "qasper", 4096, 2048, {{"f1", {17.126, 1.0, 416}}}});

  // A softmax/SUPRA pair by the reference file (stories260K-supra's base is stories260K), on piqa at two lengths.
  add_run(s, {kStories, "cccc3333", "softmax", "piqa", 256, 512, {{"acc_norm", {0.55, 0.011, 1838}}}});
  add_run(s, {kStories, "cccc3333", "softmax", "piqa", 512, 512, {{"acc_norm", {0.5612, 0.011, 1838}}}});
  add_run(s, {kStoriesSupra, "dddd4444", "supra", "piqa", 256, 512, {{"acc_norm", {0.5233, 0.011, 1838}}}});

  // Passkey: one task per depth; depth 100 at 512 not evaluated.
  for (auto [depth, ctx, v] : std::vector<std::tuple<int, int, double>>{
           {0, 256, 1.0}, {0, 512, 0.9}, {50, 256, 0.8}, {50, 512, 0.25}, {100, 256, 0.6}})
    add_run(s, {kStories, "cccc3333", "softmax", "passkey_d" + std::to_string(depth), ctx, 512,
                {{"acc", {v, 0.05, 20}}}});

  // Perplexity by position, both models.
  add_run(s, {kStories, "cccc3333", "softmax", "ppl_by_position", 512, 512,
              {{"ppl_pos_64", {9.5, 0.1, 10}}, {"ppl_pos_128", {8.25, 0.1, 10}}, {"ppl_pos_256", {7.75, 0.1, 10}}}});
  add_run(s, {kStoriesSupra, "dddd4444", "supra", "ppl_by_position", 512, 512,
              {{"ppl_pos_64", {10.5, 0.1, 10}}, {"ppl_pos_128", {9.75, 0.1, 10}}, {"ppl_pos_256", {9.5, 0.1, 10}}}});
}

inline std::vector<BenchRow> bench_rows() {
  std::vector<BenchRow> rows;
  for (const char* mode : {"softmax", "supra"})
    for (int64_t ctx : {128, 512, 2048}) {
      BenchRow r;
      r.model = kStories;
      r.model_sha256 = "cccc3333";
      r.mode = mode;
      r.device = "cpu";
      r.dtype = "f32";
      r.threads = 2;
      r.ctx = ctx;
      r.prefill_tok_s = 1000.0 + double(ctx) / 7;
      r.prefill_gflops = 1.5;
      r.decode_tok_s = std::string(mode) == "supra" ? 500.0 : 500.0 - double(ctx) / 10;
      r.decode_gbps = 2.25;
      if (std::string(mode) == "softmax" && ctx == 2048) r.decode_tok_s = r.decode_gbps = std::nullopt;  // skipped
      r.state_mib = std::string(mode) == "supra" ? 0.05 : double(ctx) / 1024;
      r.peak_rss_mib = 40;
      r.limit_gflops = 100;
      r.limit_gbps = 0;  // not measured: % limit must be missing, not 0
      r.git_rev = "abc123def456";
      r.created_at = "2024-05-01T10:00:00Z";
      rows.push_back(r);
    }
  return rows;
}

// The known store, built once per test process.
inline const fs::path& known_store() {
  static const fs::path p = [] {
    fs::path db = fresh_db("known");
    {
      Store s(db.string());
      fill_store(s);
    }
    Store(db.string()).add_bench_rows(bench_rows());
    return db;
  }();
  return p;
}

// The report of the known store, written once.
inline const fs::path& known_report() {
  static const fs::path out = [] {
    fs::path o = temp_path("out");
    fs::remove_all(o);
    ReportOptions opts;
    opts.db_path = known_store().string();
    opts.out_dir = o.string();
    write_report(opts);
    return o;
  }();
  return out;
}

}  // namespace supra::test
