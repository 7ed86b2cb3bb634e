#include "harness/work_plan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/sha256.h"
#include "engine/checkpoint.h"
#include "engine/model_config.h"
#include "engine/tokenizer.h"
#include "harness/task_catalog.h"
#include "store/store.h"

namespace supra {

namespace fs = std::filesystem;

nlohmann::json PlanSettings::to_json() const {
  return {{"models", models},   {"tasks", tasks},         {"ctxs", ctxs},         {"shots", shots},
          {"seed", seed},       {"limit", limit},         {"batch", batch},       {"add_bos", add_bos},
          {"data_root", data_root}, {"truncation", truncation}, {"tokenizer", tokenizer}, {"device", device},
          {"form", form},       {"gpu_dtype", gpu_dtype}, {"chunk", chunk},       {"db", db},
          {"kv_dtype", kv_dtype}, {"state_memory", state_memory}, {"cpu_dtype", cpu_dtype}};
}

PlanSettings PlanSettings::from_json(const nlohmann::json& j) {
  PlanSettings s;
  j.at("models").get_to(s.models);
  j.at("tasks").get_to(s.tasks);
  j.at("ctxs").get_to(s.ctxs);
  j.at("shots").get_to(s.shots);
  j.at("seed").get_to(s.seed);
  j.at("limit").get_to(s.limit);
  j.at("batch").get_to(s.batch);
  j.at("add_bos").get_to(s.add_bos);
  j.at("data_root").get_to(s.data_root);
  j.at("truncation").get_to(s.truncation);
  j.at("tokenizer").get_to(s.tokenizer);
  j.at("device").get_to(s.device);
  j.at("form").get_to(s.form);
  j.at("gpu_dtype").get_to(s.gpu_dtype);
  j.at("chunk").get_to(s.chunk);
  j.at("db").get_to(s.db);
  j.at("kv_dtype").get_to(s.kv_dtype);
  j.at("state_memory").get_to(s.state_memory);
  s.cpu_dtype = j.value("cpu_dtype", "f32");  // plans written before --cpu-dtype computed in f32
  return s;
}

namespace {

nlohmann::json units_json(const std::vector<PlanUnit>& units) {
  nlohmann::json out = nlohmann::json::array();
  for (const PlanUnit& u : units) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const PlanPiece& p : u.pieces)
      pieces.push_back({{"model", p.model}, {"task", p.task}, {"ctx", p.ctx}, {"doc_lo", p.doc_lo},
                        {"doc_hi", p.doc_hi}, {"n_docs", p.n_docs}, {"tokens", p.tokens},
                        {"gen_tokens", p.gen_tokens}});
    nlohmann::json ju = {{"pieces", pieces}, {"tokens", u.tokens}, {"gen_tokens", u.gen_tokens}};
    if (u.seconds) ju["seconds"] = *u.seconds;
    out.push_back(ju);
  }
  return out;
}

std::string plan_id_of(const PlanSettings& s, const std::vector<PlanUnit>& units) {
  return sha256_hex(nlohmann::json{{"settings", s.to_json()}, {"units", units_json(units)}}.dump()).substr(0, 16);
}

// One cell's estimated cost per document: tokens the model reads and tokens it generates.
struct CellCost {
  int64_t n_docs = 0;
  std::vector<double> tokens, gen;
  double sequences = 0;  // prompts the model reads (a shared context once), for the mean sequence length
};

// Tokens of a request as the harness will feed them: a context shared by several choices is read once (the scorer
// forks the state after it), everything is cut to the context length, generation adds its budget.
CellCost cell_cost(const Tokenizer& tok, tasks::Task& task, const PlanSettings& ps, int64_t ctx) {
  tasks::TaskSettings ts;
  ts.shots = ps.shots >= 0 ? ps.shots : task.default_shots();
  ts.fewshot_seed = ps.seed;
  ts.ctx = ctx;
  ts.count_tokens = [&tok](std::string_view text) { return int64_t(tok.encode(text).size()); };
  task.configure(ts);
  CellCost c;
  c.n_docs = ps.limit >= 0 ? std::min(ps.limit, task.size()) : task.size();
  auto count = [&](const std::string& s) { return double(tok.encode(s).size()); };
  const double L = double(ctx);
  for (int64_t doc = 0; doc < c.n_docs; doc++) {
    double t = 0, g = 0;
    std::set<std::string> contexts;
    for (const tasks::Request& r : task.requests(doc, ts)) {
      const std::string text = r.parts ? r.parts->prefix + r.parts->document + r.parts->suffix : r.context;
      switch (r.type) {
        case tasks::RequestType::Loglikelihood:
          if (contexts.insert(text).second) {
            t += std::min(L, count(text));
            c.sequences += 1;
          }
          t += count(r.continuation);
          break;
        case tasks::RequestType::LoglikelihoodRolling: {
          const double n = count(text);
          t += n;
          c.sequences += std::ceil(n / L);  // disjoint windows of L tokens
          break;
        }
        case tasks::RequestType::GenerateUntil:
          t += std::min(L, count(text));
          g += r.max_gen_toks;
          c.sequences += 1;
          break;
      }
    }
    c.tokens.push_back(t);
    c.gen.push_back(g);
  }
  return c;
}

// Tokens per second of prefill and decode for a model, mode and device from the store's bench rows: the row whose
// context length is nearest the cell's mean sequence length (what attention costs depend on, not --ctx: a short
// ARC prompt at --ctx 4096 is read as fast as at 128); nullopt when the store has none.
struct Rates {
  double prefill = 0, decode = 0;
};
std::optional<Rates> bench_rates(const std::string& bench_db, const std::string& model, const std::string& sha,
                                 const std::string& mode, const std::string& device, int64_t length) {
  if (bench_db.empty() || !fs::exists(bench_db)) return std::nullopt;
  Db db = open_store_read_only(bench_db);
  Stmt q(db,
         "SELECT prefill_tok_s, decode_tok_s, ctx FROM bench_results WHERE (model = ?1 OR (model_sha256 <> '' AND "
         "model_sha256 = ?2)) AND mode = ?3 AND device = ?4 AND batch = 1 AND prefill_tok_s > 0 ORDER BY id DESC");
  q.bind(1, model).bind(2, sha).bind(3, mode).bind(4, device);
  std::optional<Rates> r;
  double best = 0;
  while (q.step()) {
    const double dist = std::abs(std::log(double(std::max<int64_t>(1, q.i64(2)))) - std::log(double(length)));
    if (r && dist >= best) continue;
    best = dist;
    r = Rates{q.f64(0), q.is_null(1) ? 0 : q.f64(1)};
  }
  return r;
}

struct ModelInfo {
  std::string mode, sha;
  int64_t train_ctx = 0;
  std::unique_ptr<Tokenizer> tok;
};

ModelInfo model_info(const PlanSettings& ps, const std::string& path, bool need_sha) {
  LoadOptions lo;
  lo.tokenizer = ps.tokenizer;
  Checkpoint ck = load_checkpoint(path, lo);
  if (ck.tokenizer.empty())
    fail("{}: no tokenizer found beside the weights; plan sizes units with the model's tokenizer: give --tokenizer",
         path);
  ModelInfo m;
  m.mode = mode_name(ck.config.attention);
  m.train_ctx = ck.config.train_ctx;
  m.tok = std::make_unique<Tokenizer>(ck.tokenizer);
  if (need_sha) m.sha = checkpoint_sha256(ck);
  return m;
}

// Cuts a cell into k pieces of near-equal cost at multiples of `batch` documents.
std::vector<std::pair<int64_t, int64_t>> split_cell(const std::vector<double>& cost, int64_t batch, int64_t k) {
  const int64_t n = int64_t(cost.size());
  double total = 0;
  for (double c : cost) total += c;
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t lo = 0;
  double acc = 0;
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t e = std::min(n, b + batch);
    for (int64_t d = b; d < e; d++) acc += cost[size_t(d)];
    const int64_t cut_no = int64_t(out.size()) + 1;
    if (e < n && cut_no < k && acc >= total * double(cut_no) / double(k)) {
      out.push_back({lo, e});
      lo = e;
    }
  }
  out.push_back({lo, n});
  return out;
}

// A cell of the sweep with the cost of each of its documents and the model's bench rates, when known.
struct Cell {
  PlanPiece whole;
  CellCost cost;
  std::optional<Rates> rates;
};

// Every cell of the sweep (models x context lengths x tasks, in sweep order) with its cost; cells without
// documents are left out.
std::vector<Cell> estimate_cells(const PlanSettings& ps, const std::string& bench_db) {
  bool have_bench = false;
  if (!bench_db.empty() && fs::exists(bench_db)) {
    Db db = open_store_read_only(bench_db);
    have_bench = db.query_int("SELECT count(*) FROM bench_results").value_or(0) > 0;
  }
  std::vector<Cell> cells;
  for (size_t m = 0; m < ps.models.size(); m++) {
    const ModelInfo info = model_info(ps, ps.models[m], have_bench);
    std::vector<int64_t> ctxs = ps.ctxs;
    if (ctxs.empty()) {
      if (info.train_ctx <= 0)
        fail("{}: --ctx not given, and the model's config records no training context; pass --ctx", ps.models[m]);
      ctxs = {info.train_ctx};
    }
    for (int64_t ctx : ctxs)
      for (const std::string& name : ps.tasks) {
        auto task = make_any_task(name);
        task->load(ps.data_root);
        Cell c;
        c.cost = cell_cost(*info.tok, *task, ps, ctx);
        c.whole = {int64_t(m), name, ctx, 0, c.cost.n_docs, c.cost.n_docs, 0, 0};
        double tokens = 0;
        for (double t : c.cost.tokens) tokens += t;
        const int64_t mean_len = int64_t(std::clamp(tokens / std::max(1.0, c.cost.sequences), 1.0, double(ctx)));
        c.rates = bench_rates(bench_db, ps.models[m], info.sha, info.mode, ps.device, mean_len);
        if (c.cost.n_docs > 0) cells.push_back(std::move(c));
      }
  }
  return cells;
}

PlanPiece piece_of(const Cell& c, int64_t lo, int64_t hi) {
  PlanPiece p = c.whole;
  p.doc_lo = lo;
  p.doc_hi = hi;
  for (int64_t d = lo; d < hi; d++) {
    p.tokens += c.cost.tokens[size_t(d)];
    p.gen_tokens += c.cost.gen[size_t(d)];
  }
  return p;
}

// Adds a piece to a unit with its estimated seconds; false when the cell's rates cannot time it.
bool add_piece(PlanUnit& u, const PlanPiece& p, const std::optional<Rates>& r) {
  u.pieces.push_back(p);
  u.tokens += p.tokens;
  u.gen_tokens += p.gen_tokens;
  if (!r || (p.gen_tokens > 0 && r->decode <= 0)) return false;
  u.seconds = u.seconds.value_or(0) + p.tokens / r->prefill + (p.gen_tokens > 0 ? p.gen_tokens / r->decode : 0);
  return true;
}

// Units of about `target` cost: a cell over 1.25 x target split at batch boundaries into ceil(cost / target) pieces,
// each its own unit; smaller cells packed, in order, into the open unit of the same model while it stays under
// 1.25 x target. Returns whether every unit could be timed.
bool pack_units(const std::vector<Cell>& cells, double target, int64_t batch, std::vector<PlanUnit>& units) {
  bool all_timed = true;
  std::optional<size_t> open_unit;  // the unit small cells of the current model are packed into
  for (const Cell& c : cells) {
    std::vector<double> cost(size_t(c.cost.n_docs));
    double cell_total = 0;
    for (size_t d = 0; d < cost.size(); d++) cell_total += cost[d] = c.cost.tokens[d] + c.cost.gen[d];
    if (cell_total > target * 1.25) {
      const int64_t k = int64_t(std::ceil(cell_total / target));
      for (const auto& [lo, hi] : split_cell(cost, batch, k)) {
        PlanUnit u;
        all_timed = add_piece(u, piece_of(c, lo, hi), c.rates) && all_timed;
        units.push_back(std::move(u));
      }
      continue;
    }
    const PlanPiece p = piece_of(c, 0, c.cost.n_docs);
    if (open_unit) {
      PlanUnit& u = units[*open_unit];
      if (u.pieces.back().model == p.model && u.tokens + u.gen_tokens + cell_total <= target * 1.25) {
        all_timed = add_piece(u, p, c.rates) && all_timed;
        continue;
      }
    }
    PlanUnit u;
    all_timed = add_piece(u, p, c.rates) && all_timed;
    units.push_back(std::move(u));
    open_unit = units.size() - 1;
  }
  return all_timed;
}

}  // namespace

Plan make_plan(const PlanSettings& ps, int64_t target_units, const std::string& bench_db) {
  if (ps.models.empty() || ps.tasks.empty()) fail("plan: --models and --tasks must name at least one each");
  if (ps.batch <= 0) fail("--batch: must be positive, got {}", ps.batch);
  Plan plan;
  plan.settings = ps;
  const std::vector<Cell> cells = estimate_cells(ps, bench_db);
  double total = 0;
  for (const Cell& c : cells)
    for (int64_t d = 0; d < c.cost.n_docs; d++) total += c.cost.tokens[size_t(d)] + c.cost.gen[size_t(d)];
  const int64_t n_target = target_units > 0 ? target_units : int64_t(cells.size());
  const double target = total / double(std::max<int64_t>(1, n_target));
  if (!pack_units(cells, target, ps.batch, plan.units)) {
    for (PlanUnit& u : plan.units) u.seconds.reset();
    plan.notes.push_back(fmt::format(
        "no time estimate: {} has no bench figures for every model at {} (run `supra-eval bench --model M "
        "--device {} --ctx ... --db {}` first)",
        bench_db.empty() ? std::string("no store") : bench_db, ps.device, ps.device,
        bench_db.empty() ? std::string("results.sqlite") : bench_db));
  } else {
    plan.notes.push_back(fmt::format(
        "time estimated from the bench_results of {} (batch 1, the context length nearest each cell's mean "
        "sequence length)",
        bench_db));
  }
  plan.id = plan_id_of(plan.settings, plan.units);
  return plan;
}

nlohmann::json Plan::to_json() const {
  return {{"plan_id", id}, {"settings", settings.to_json()}, {"units", units_json(units)}, {"notes", notes}};
}

Plan Plan::from_json(const nlohmann::json& j, const std::string& where) {
  Plan p;
  try {
    p.id = j.at("plan_id").get<std::string>();
    p.settings = PlanSettings::from_json(j.at("settings"));
    for (const auto& ju : j.at("units")) {
      PlanUnit u;
      for (const auto& jp : ju.at("pieces"))
        u.pieces.push_back({jp.at("model").get<int64_t>(), jp.at("task").get<std::string>(),
                            jp.at("ctx").get<int64_t>(), jp.at("doc_lo").get<int64_t>(),
                            jp.at("doc_hi").get<int64_t>(), jp.at("n_docs").get<int64_t>(),
                            jp.at("tokens").get<double>(), jp.at("gen_tokens").get<double>()});
      u.tokens = ju.at("tokens").get<double>();
      u.gen_tokens = ju.at("gen_tokens").get<double>();
      if (ju.contains("seconds")) u.seconds = ju.at("seconds").get<double>();
      p.units.push_back(std::move(u));
    }
    if (j.contains("notes")) j.at("notes").get_to(p.notes);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a supra-eval plan ({})", where, e.what());
  }
  if (plan_id_of(p.settings, p.units) != p.id)
    fail("{}: plan_id {} does not match its settings and units (edited by hand?); make a new plan with `supra-eval "
         "plan`",
         where, p.id);
  return p;
}

std::string plan_file(const std::string& dir) { return (fs::path(dir) / "plan.json").string(); }

std::string shard_file(const std::string& dir, int64_t unit) {
  return (fs::path(dir) / "shards" / fmt::format("unit-{:05d}.sqlite", unit)).string();
}

void write_plan(const Plan& plan, const std::string& dir) {
  fs::create_directories(fs::path(dir) / "shards");
  fs::create_directories(fs::path(dir) / "logs");
  const std::string file = plan_file(dir), tmp = file + ".tmp";
  {
    std::ofstream out(tmp);
    out << plan.to_json().dump(1) << "\n";
    if (!out) fail("{}: cannot write the plan", tmp);
  }
  fs::rename(tmp, file);  // a reader never sees half a plan
}

Plan read_plan(const std::string& dir) {
  const std::string file = plan_file(dir);
  std::ifstream in(file);
  if (!in) fail("{}: no plan here (make one with `supra-eval plan --out {}`)", file, dir);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", file, e.what());
  }
  return Plan::from_json(j, file);
}

RunSettings piece_settings(const PlanSettings& ps, const PlanPiece& p, bool quiet) {
  RunSettings st;
  st.ctx = p.ctx;
  st.shots = ps.shots;
  st.seed = ps.seed;
  st.limit = ps.limit;
  st.batch_docs = ps.batch;
  st.add_bos = ps.add_bos;
  st.data_root = ps.data_root;
  st.truncation = ps.truncation;
  st.device = ps.device;
  st.dtype = ps.device == "cuda" ? ps.gpu_dtype : "";
  st.quiet = quiet;
  st.doc_lo = p.doc_lo;
  st.doc_hi = p.doc_hi;
  st.state_memory = size_t(ps.state_memory);
  return st;
}

}  // namespace supra
