#include "harness/lm_eval_export.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/sha256.h"
#include "harness/task_catalog.h"
#include "store/store.h"

namespace supra {

using nlohmann::json;

namespace {

struct RunRow {
  int64_t id = 0;
  std::string model, sha, mode, form, task, truncation, dtype, device, git_rev, created_at, finished_at;
  int64_t task_version = 0, shots = 0, seed = 0, ctx = 0, add_bos = 0, limit = -1, n_docs = 0;
  json config;
};

// lm-eval writes a tuple element or a number in samples as Python's str() of it.
std::string py_str(double v) { return json(v).dump(); }
std::string py_str(bool b) { return b ? "True" : "False"; }

int64_t parse_utc(const std::string& t) {
  std::tm tm{};
  if (sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
             &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm));
}

// A task name as part of a file name (perplexity:<path> holds ':' and '/').
std::string file_part(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  return out;
}

std::vector<RunRow> read_runs(Db& db, const LmEvalExportOptions& o) {
  Stmt q(db,
         "SELECT id, model, model_sha256, mode, form, task, truncation, dtype, device, git_rev, created_at, "
         "COALESCE(finished_at, updated_at), task_version, shots, seed, ctx, add_bos, limit_docs, n_docs, "
         "config_json, status FROM runs ORDER BY id");
  std::vector<RunRow> runs;
  std::set<int64_t> wanted(o.run_ids.begin(), o.run_ids.end()), seen;
  const std::set<std::string> tasks(o.tasks.begin(), o.tasks.end());
  while (q.step()) {
    RunRow r;
    r.id = q.i64(0);
    const std::string status = q.text(20);
    if (!wanted.empty() && !wanted.count(r.id)) continue;
    if (wanted.count(r.id) && status != "finished")
      fail("export: run {} in {} is {}, not finished: finish it first (supra-eval run resumes it)", r.id, o.db, status);
    seen.insert(r.id);
    if (status != "finished") continue;
    r.model = q.text(1), r.sha = q.text(2), r.mode = q.text(3), r.form = q.text(4), r.task = q.text(5);
    r.truncation = q.text(6), r.dtype = q.text(7), r.device = q.text(8), r.git_rev = q.text(9);
    r.created_at = q.text(10), r.finished_at = q.text(11);
    r.task_version = q.i64(12), r.shots = q.i64(13), r.seed = q.i64(14), r.ctx = q.i64(15), r.add_bos = q.i64(16);
    r.limit = q.i64(17), r.n_docs = q.i64(18);
    r.config = json::parse(q.text(19), nullptr, false);
    if (!tasks.empty() && !tasks.count(r.task)) continue;
    runs.push_back(std::move(r));
  }
  for (int64_t id : wanted)
    if (!seen.count(id)) fail("export: {} has no run {}", o.db, id);
  return runs;
}

// The runs one lm-eval invocation would have made: same model and settings, each task once.
std::vector<std::vector<const RunRow*>> group_runs(const std::vector<RunRow>& runs) {
  std::map<std::string, std::vector<std::vector<const RunRow*>>> by_key;
  std::vector<std::string> order;
  for (const RunRow& r : runs) {
    const std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", r.model,
                                        r.sha, r.mode, r.form, r.ctx, r.truncation, r.dtype, r.device, r.add_bos,
                                        r.seed, r.limit);
    auto& groups = by_key[key];
    if (groups.empty()) order.push_back(key);
    auto has_task = [&](const std::vector<const RunRow*>& g) {
      return std::any_of(g.begin(), g.end(), [&](const RunRow* x) { return x->task == r.task; });
    };
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return !has_task(g); });
    if (it == groups.end()) {
      groups.emplace_back();
      it = groups.end() - 1;
    }
    it->push_back(&r);
  }
  std::vector<std::vector<const RunRow*>> out;
  for (const auto& k : order)
    for (auto& g : by_key[k]) out.push_back(g);
  return out;
}

// The request texts of every document of a run, rebuilt from its task; empty (with a note) when the task cannot
// be rebuilt here (its data is elsewhere, or it sizes its documents with the model's tokenizer).
std::vector<std::vector<tasks::Request>> request_texts(const RunRow& r, const LmEvalExportOptions& o,
                                                       std::vector<std::string>& notes) {
  std::vector<std::vector<tasks::Request>> out;
  try {
    auto task = make_any_task(r.task);
    task->load(o.data_root);
    tasks::TaskSettings ts;
    ts.shots = int(r.shots);
    ts.fewshot_seed = uint64_t(r.seed);
    ts.ctx = r.ctx;
    task->configure(ts);
    for (int64_t d = 0; d < r.n_docs; d++) out.push_back(task->requests(d, ts));
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("run {} ({}): request texts left empty: {}", r.id, r.task, e.what()));
    out.clear();
  }
  return out;
}

std::string prompt_text(const tasks::Request& q) {
  if (q.parts) return q.parts->prefix + q.parts->document + q.parts->suffix;
  return q.context;
}

// One samples_<task>_<date>.jsonl: one line per document in lm-eval's layout.
void write_samples(Db& db, const RunRow& r, const std::map<std::string, std::string>& aggregation,
                   const std::vector<std::vector<tasks::Request>>& texts, const std::string& path) {
  struct Sample {
    std::string type, generated;
    std::optional<double> logprob;
    bool is_greedy = false;
    int64_t n_input = 0, n_kept = 0, n_dropped = 0;
  };
  std::map<int64_t, std::vector<Sample>> samples;
  Stmt s(db, "SELECT doc, type, logprob, is_greedy, generated, n_input, n_kept, n_dropped FROM samples "
             "WHERE run_id = ? ORDER BY doc, request");
  s.bind(1, r.id);
  while (s.step()) {
    Sample x;
    x.type = s.text(1);
    x.logprob = s.opt_f64(2);
    x.is_greedy = s.opt_i64(3).value_or(0) != 0;
    x.generated = s.is_null(4) ? "" : s.text(4);
    x.n_input = s.i64(5), x.n_kept = s.i64(6), x.n_dropped = s.i64(7);
    samples[s.i64(0)].push_back(std::move(x));
  }
  std::map<int64_t, std::vector<std::pair<std::string, std::pair<double, double>>>> metrics;
  Stmt m(db, "SELECT doc, metric, value, weight FROM doc_metrics WHERE run_id = ? ORDER BY doc, metric");
  m.bind(1, r.id);
  while (m.step()) metrics[m.i64(0)].push_back({m.text(1), {m.f64(2), m.f64(3)}});

  std::ofstream out(path);
  if (!out) fail("export: cannot write {}", path);
  for (const auto& [doc, reqs] : samples) {
    const std::vector<tasks::Request>* t = size_t(doc) < texts.size() ? &texts[size_t(doc)] : nullptr;
    json arguments = json::object(), resps = json::array(), filtered = json::array(), doc_json = json::object();
    json counts = json::array();
    for (size_t i = 0; i < reqs.size(); i++) {
      const Sample& x = reqs[i];
      json args = json::object();
      if (t && i < t->size()) {
        const tasks::Request& q = (*t)[i];
        args["arg_0"] = prompt_text(q);
        if (x.type == "loglikelihood") args["arg_1"] = q.continuation;
        if (x.type == "generate_until") args["arg_1"] = {{"until", q.until}, {"max_gen_toks", q.max_gen_toks}};
      }
      arguments[fmt::format("gen_args_{}", i)] = args;
      json resp;
      if (x.type == "loglikelihood")
        resp = {py_str(x.logprob.value_or(0)), py_str(x.is_greedy)};
      else if (x.type == "generate_until")
        resp = x.generated;
      else
        resp = py_str(x.logprob.value_or(0));
      resps.push_back(json::array({resp}));
      filtered.push_back(resp);
      counts.push_back({{"input", x.n_input}, {"kept", x.n_kept}, {"dropped", x.n_dropped}});
    }
    if (t) {
      json rq = json::array();
      for (const auto& q : *t) rq.push_back(q.type == tasks::RequestType::Loglikelihood
                                                ? json{{"context", prompt_text(q)}, {"continuation", q.continuation}}
                                                : json{{"context", prompt_text(q)}});
      doc_json = {{"task", r.task}, {"doc", doc}, {"requests", rq}};
    }
    const std::string target;  // the Task interface does not expose the gold answer
    json line = {{"doc_id", doc},
                 {"doc", doc_json},
                 {"target", target},
                 {"arguments", arguments},
                 {"resps", resps},
                 {"filtered_resps", filtered},
                 {"filter", "none"},
                 {"supra_eval_tokens", counts}};
    json names = json::array();
    for (const auto& [name, vw] : metrics[doc]) {
      names.push_back(name);
      const auto agg = aggregation.find(name);
      const bool weighted = agg != aggregation.end() && agg->second != "mean" && agg->second != "perplexity";
      line[name] = weighted ? json::array({vw.first, vw.second}) : json(vw.first);
    }
    line["metrics"] = names;
    line["doc_hash"] = sha256_hex(doc_json.dump(2, ' ', false));
    line["prompt_hash"] = sha256_hex(arguments.empty() || !arguments["gen_args_0"].contains("arg_0")
                                         ? std::string()
                                         : arguments["gen_args_0"]["arg_0"].get<std::string>());
    line["target_hash"] = sha256_hex(target);
    out << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  }
  if (!out) fail("export: writing {} failed", path);
}

}  // namespace

std::string lm_eval_sanitize_model_name(const std::string& name) {
  std::string out;
  const std::string special = "\"<>:/|\\?*[]";
  for (size_t i = 0; i < name.size();) {
    if (special.find(name[i]) == std::string::npos) {
      out += name[i++];
      continue;
    }
    while (i < name.size() && special.find(name[i]) != std::string::npos) i++;
    out += "__";
  }
  return out;
}

LmEvalExportResult export_lm_eval(const LmEvalExportOptions& o) {
  if (o.out_dir.empty()) fail("export: give the output folder (--out)");
  Db db = open_store_read_only(o.db);
  const std::vector<RunRow> runs = read_runs(db, o);
  LmEvalExportResult res;
  res.runs = int64_t(runs.size());
  for (const auto& group : group_runs(runs)) {
    const RunRow& f = *group.front();
    std::string model_name = fmt::format("{}-{}-ctx{}-{}", f.model, f.mode, f.ctx, f.truncation);
    std::string model_args = fmt::format(
        "pretrained={},sha256={},mode={},form={},max_length={},truncation={},dtype={},device={},add_bos={}", f.model,
        f.sha, f.mode, f.form.empty() ? "none" : f.form, f.ctx, f.truncation, f.dtype, f.device,
        f.add_bos ? "True" : "False");
    // A second group with the same settings (the same task run twice with other shots or task versions).
    int64_t same = 0;
    for (const auto& g : group_runs(runs))
      if (g.front()->model == f.model && g.front()->mode == f.mode && g.front()->ctx == f.ctx &&
          g.front()->truncation == f.truncation && g.front()->id < f.id)
        same++;
    if (same > 0) {
      model_name += fmt::format("-run{}", f.id);
      model_args += fmt::format(",first_run={}", f.id);
    }
    std::string last = f.finished_at;
    int64_t start = parse_utc(f.created_at), seconds = 0;
    for (const RunRow* r : group) {
      last = std::max(last, r->finished_at);
      start = std::min(start, parse_utc(r->created_at));
      seconds += std::max<int64_t>(0, parse_utc(r->finished_at) - parse_utc(r->created_at));
    }
    std::string date = last;
    if (!date.empty() && date.back() == 'Z') date.pop_back();
    std::replace(date.begin(), date.end(), ':', '-');

    const std::string sanitized = lm_eval_sanitize_model_name(model_name);
    const std::filesystem::path dir = std::filesystem::path(o.out_dir) / sanitized;
    std::filesystem::create_directories(dir);

    json results = json::object(), configs = json::object(), versions = json::object(), nshot = json::object();
    json hib = json::object(), nsamples = json::object(), subtasks = json::object();
    std::vector<std::string> sample_files;
    for (const RunRow* r : group) {
      std::map<std::string, std::string> aggregation;
      json res_task = {{"alias", r->task}}, metric_list = json::array(), hib_task = json::object();
      Stmt q(db, "SELECT metric, value, stderr, aggregation, higher_is_better FROM metrics WHERE run_id = ? "
                 "ORDER BY metric");
      q.bind(1, r->id);
      while (q.step()) {
        const std::string name = q.text(0);
        res_task[name + ",none"] = q.f64(1);
        const auto se = q.opt_f64(2);
        res_task[name + "_stderr,none"] = se && std::isfinite(*se) ? json(*se) : json("N/A");
        aggregation[name] = q.text(3);
        metric_list.push_back({{"metric", name}, {"aggregation", q.text(3)}, {"higher_is_better", q.i64(4) != 0}});
        hib_task[name] = q.i64(4) != 0;
      }
      std::string output_type = "loglikelihood";
      {
        Stmt t(db, "SELECT type, MAX(request) FROM samples WHERE run_id = ? GROUP BY type ORDER BY COUNT(*) DESC");
        t.bind(1, r->id);
        if (t.step()) {
          output_type = t.text(0);
          if (output_type == "loglikelihood" && t.i64(1) > 0) output_type = "multiple_choice";
        }
      }
      results[r->task] = res_task;
      configs[r->task] = {{"task", r->task},
                          {"dataset_path", r->config.value("dataset", "")},
                          {"test_split", r->config.value("split", "")},
                          {"description", r->config.value("task_description", "")},
                          {"output_type", output_type},
                          {"metric_list", metric_list},
                          {"num_fewshot", r->shots},
                          {"fewshot_config", {{"sampler", "first_n"}}},
                          {"target_delimiter", " "},
                          {"fewshot_delimiter", "\n\n"},
                          {"repeats", 1},
                          {"should_decontaminate", false},
                          {"metadata", {{"version", double(r->task_version)}, {"supra_eval_run_id", r->id}}}};
      versions[r->task] = double(r->task_version);
      nshot[r->task] = r->shots;
      hib[r->task] = hib_task;
      // `original` is the task's size when the run saw all of it; with --limit the store knows only what ran.
      nsamples[r->task] = {{"original", r->n_docs}, {"effective", r->n_docs}};
      subtasks[r->task] = json::array();

      const auto texts = request_texts(*r, o, res.notes);
      const std::string path = (dir / fmt::format("samples_{}_{}.jsonl", file_part(r->task), date)).string();
      write_samples(db, *r, aggregation, texts, path);
      sample_files.push_back(path);
    }
    json doc = {{"results", results},
                {"group_subtasks", subtasks},
                {"configs", configs},
                {"versions", versions},
                {"n-shot", nshot},
                {"higher_is_better", hib},
                {"n-samples", nsamples},
                {"config",
                 {{"model", "supra-eval"},
                  {"model_args", model_args},
                  {"batch_size", 1},
                  {"batch_sizes", json::array()},
                  {"device", f.device},
                  {"use_cache", nullptr},
                  {"gen_kwargs", nullptr},
                  {"limit", f.limit >= 0 ? json(f.limit) : json(nullptr)},
                  {"fewshot_seed", f.seed}}},
                {"git_hash", f.git_rev.substr(0, 7)},
                {"date", double(start)},
                {"model_name", model_name},
                {"model_name_sanitized", sanitized},
                {"total_evaluation_time_seconds", std::to_string(seconds)}};
    const std::string path = (dir / fmt::format("results_{}.json", date)).string();
    std::ofstream out(path);
    if (!out) fail("export: cannot write {}", path);
    out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!out) fail("export: writing {} failed", path);
    res.files.push_back(path);
    res.files.insert(res.files.end(), sample_files.begin(), sample_files.end());
  }
  return res;
}

}  // namespace supra
