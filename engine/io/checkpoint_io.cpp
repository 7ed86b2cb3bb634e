#include "engine/io/checkpoint_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("{}: cannot create: {}", path, std::strerror(errno));
  out << j.dump(2) << "\n";
  if (!out) fail("{}: write failed", path);
}

nlohmann::json json_float(float f) { return std::stod(fmt::format("{}", f)); }

ConfigJson::ConfigJson(const std::string& file) : file_(file), j_(read_json_file(file)) {
  if (!j_.is_object()) fail("{}: expected a JSON object at the top level, got {}", file_, j_.type_name());
}

bool ConfigJson::has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

void ConfigJson::bad(const std::string& key, const std::string& expected) const {
  if (!has(key)) fail("{}: missing required key '{}' ({})", file_, key, expected);
  fail("{}: key '{}' is {}: expected {}", file_, key, j_[key].dump(), expected);
}

int ConfigJson::get_int(const std::string& key) const {
  if (!has(key) || !j_[key].is_number_integer()) bad(key, "an integer");
  const int64_t v = j_[key].get<int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) bad(key, "an integer that fits in 32 bits");
  return int(v);
}

int ConfigJson::get_int_in(const std::string& key, int lo, long hi) const {
  if (!has(key) || !j_[key].is_number_integer()) bad(key, fmt::format("an integer in {}..{}", lo, hi));
  // Compared as int64: a huge value must not wrap into range.
  const int64_t v = j_[key].is_number_unsigned() && j_[key].get<uint64_t>() > uint64_t(INT64_MAX)
                        ? INT64_MAX
                        : j_[key].get<int64_t>();
  if (v < lo || v > hi) bad(key, fmt::format("an integer in {}..{}", lo, hi));
  return int(v);
}

double ConfigJson::get_num(const std::string& key) const {
  if (!has(key) || !j_[key].is_number()) bad(key, "a number");
  return j_[key].get<double>();
}

bool ConfigJson::get_bool(const std::string& key) const {
  if (!has(key) || !j_[key].is_boolean()) bad(key, "true or false");
  return j_[key].get<bool>();
}

std::string ConfigJson::get_str(const std::string& key) const {
  if (!has(key) || !j_[key].is_string()) bad(key, "a string");
  return j_[key].get<std::string>();
}

std::string shape_str(const std::vector<int64_t>& shape) {
  Tensor t;
  t.shape = shape;
  return t.shape_str();
}

std::string index_shard_path(const std::string& index_path, const std::string& tensor, const std::string& rel) {
  const fs::path r(rel);
  bool escapes = rel.empty() || r.has_root_name() || r.has_root_directory();
  for (const fs::path& part : r) escapes = escapes || part == "..";
  if (escapes)
    fail("{}: weight_map['{}'] is '{}': expected a file name inside the index's folder (no absolute path, no '..')",
         index_path, tensor, rel);
  return (fs::path(index_path).parent_path() / r).string();
}

TensorStore TensorStore::from_index(const std::string& index_path) {
  const nlohmann::json idx = read_json_file(index_path);
  if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
    fail("{}: missing required key 'weight_map' (an object: tensor name -> shard file)", index_path);
  TensorStore s;
  std::map<std::string, size_t> file_of;
  for (const auto& [name, file] : idx["weight_map"].items()) {
    if (!file.is_string()) fail("{}: weight_map['{}'] must be a file name, got {}", index_path, name, file.dump());
    const std::string rel = file.get<std::string>();
    auto it = file_of.find(rel);
    if (it == file_of.end()) {
      const std::string p = index_shard_path(index_path, name, rel);
      if (!fs::exists(p)) fail("{}: shard '{}' named for tensor '{}' does not exist", index_path, p, name);
      it = file_of.emplace(rel, s.files_.size()).first;
      s.files_.push_back(std::make_shared<SafetensorsFile>(p));
    }
    if (!s.files_[it->second]->has(name))
      fail("{}: tensor '{}' is mapped to {} but that file does not hold it", index_path, name,
           s.files_[it->second]->path());
    s.where_of_[name] = it->second;
  }
  s.where_ = fmt::format("{} ({} shards)", index_path, s.files_.size());
  return s;
}

TensorStore TensorStore::from_files(const std::vector<std::string>& files) {
  TensorStore s;
  std::vector<std::string> shown;
  for (const auto& f : files) {
    s.files_.push_back(std::make_shared<SafetensorsFile>(f));
    const size_t k = s.files_.size() - 1;
    for (const auto& name : s.files_[k]->names()) {
      auto [it, fresh] = s.where_of_.emplace(name, k);
      if (!fresh) fail("tensor '{}' appears in both {} and {}", name, s.files_[it->second]->path(), f);
    }
    shown.push_back(f);
  }
  s.where_ = fmt::format("{}", fmt::join(shown, ", "));
  return s;
}

Tensor TensorStore::get(const std::string& name) const {
  auto it = where_of_.find(name);
  if (it == where_of_.end()) fail("{}: required tensor '{}' not found", where_, name);
  return files_[it->second]->get(name);
}

Tensor TensorStore::get(const std::string& name, const std::vector<int64_t>& shape) const {
  Tensor t = get(name);
  if (t.shape != shape)
    fail("{}: tensor '{}' has shape {}, expected {}", files_[where_of_.at(name)]->path(), name, t.shape_str(),
         shape_str(shape));
  return t;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> v;
  for (const auto& [k, i] : where_of_) v.push_back(k);
  return v;
}

namespace {

std::string full_name(const FormatNames& names, const FormatNames::Row& row, int layer) {
  return layer < 0 ? row.name : names.layer_prefix + std::to_string(layer) + "." + row.name;
}

}  // namespace

std::vector<FileTensor> file_tensors(const FormatNames& names, const ModelConfig& c) {
  std::vector<FileTensor> out;
  auto is_layer = [&](int r) { return is_layer_weight(names.rows[size_t(r)].weights.at(0)); };
  for_each_row_in_model_order(int(names.rows.size()), c.n_layers, is_layer, [&](int r, int layer) {
    const FormatNames::Row& row = names.rows[size_t(r)];
    FileTensor f;
    f.name = full_name(names, row, layer);
    for (const char* weight : row.weights)
      if (std::optional<Weight> wt = find_weight(c, weight, layer)) f.parts.push_back(std::move(*wt));
    if (f.parts.empty()) return;  // a weight this model does not have
    if (f.parts.size() != row.weights.size())
      fail("format table: '{}' stacks weights this model has only some of", f.name);
    f.shape = f.parts[0].shape;
    for (size_t i = 1; i < f.parts.size(); i++) f.shape[0] += f.parts[i].shape[0];
    out.push_back(std::move(f));
  });
  return out;
}

std::string file_name(const FormatNames& names, std::string_view weight, int layer) {
  for (const FormatNames::Row& row : names.rows)
    for (const char* w : row.weights)
      if (weight == w) return full_name(names, row, layer);
  fail("format table: no tensor holds weight '{}'", weight);
}

void take_file_tensor(const FileTensor& f, const Tensor& t, ModelWeights& w) {
  if (f.parts.size() == 1) {
    f.parts[0].in(w) = t;
    return;
  }
  int64_t row = 0;
  for (const Weight& part : f.parts) {
    part.in(w) = t.slice_rows(row, row + part.shape[0]);
    row += part.shape[0];
  }
}

Tensor make_file_tensor(const FileTensor& f, const ModelWeights& w) {
  if (f.parts.size() == 1) return f.parts[0].in(w);
  std::vector<Tensor> parts;
  for (const Weight& part : f.parts) parts.push_back(part.in(w));
  return stack_rows(parts);
}

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype == dtype) return t;
  Tensor out = host_tensor(dtype, t.shape);
  const size_t n = size_t(t.numel());
  std::vector<float> buf(std::min<size_t>(n, 1 << 20));
  for (size_t i = 0; i < n; i += buf.size()) {
    const size_t m = std::min(buf.size(), n - i);
    convert_to_f32(t.dtype, static_cast<const char*>(t.data) + i * dtype_size(t.dtype), buf.data(), m);
    convert_from_f32(dtype, buf.data(), static_cast<char*>(out.data) + i * dtype_size(dtype), m);
  }
  return out;
}

Tensor stack_rows(const std::vector<Tensor>& parts) {
  if (parts.empty()) fail("stack_rows: nothing to stack");
  DType dt = parts[0].dtype;
  int64_t rows = 0;
  for (const auto& p : parts) {
    if (p.row_size() != parts[0].row_size() || p.shape.size() != parts[0].shape.size())
      fail("stack_rows: shapes {} and {} do not stack", parts[0].shape_str(), p.shape_str());
    if (p.dtype != dt) dt = DType::F32;
    rows += p.rows();
  }
  std::vector<int64_t> shape = parts[0].shape;
  shape[0] = rows;
  Tensor out = host_tensor(dt, shape);
  char* dst = static_cast<char*>(out.data);
  for (const auto& p : parts) {
    Tensor c = to_dtype(p, dt);
    std::memcpy(dst, c.data, c.nbytes());
    dst += c.nbytes();
  }
  return out;
}

namespace {

// Reorders the rows of each head of w (rows = n_heads * d, any row size). new_of_old maps the position inside a
// head in the target layout to the position in the source layout.
Tensor permute_head_rows(const Tensor& w, int n_heads, int d, RopePairing from, RopePairing to) {
  if (from == to || w.empty()) return w;
  if (w.rows() != int64_t(n_heads) * d)
    fail("RoPE re-pairing: tensor of shape {} does not have {} heads x {} rows", w.shape_str(), n_heads, d);
  Tensor out = host_tensor(w.dtype, w.shape);
  const size_t row_bytes = size_t(w.row_size()) * dtype_size(w.dtype);
  const int half = d / 2;
  for (int h = 0; h < n_heads; h++)
    for (int i = 0; i < half; i++)
      for (int j = 0; j < 2; j++) {
        const int interleaved = 2 * i + j, rotate_half = j * half + i;  // the same (pair i, member j)
        const int src = from == RopePairing::Interleaved ? interleaved : rotate_half;
        const int dst = to == RopePairing::Interleaved ? interleaved : rotate_half;
        std::memcpy(static_cast<char*>(out.data) + size_t(h * d + dst) * row_bytes,
                    static_cast<const char*>(w.data) + size_t(h * d + src) * row_bytes, row_bytes);
      }
  return out;
}

}  // namespace

Checkpoint with_rope_pairing(const Checkpoint& ckpt, RopePairing to) {
  const ModelConfig& c = ckpt.config;
  Checkpoint out = ckpt;
  if (c.rope_pairing == to) return out;
  for (auto& L : out.weights.layers) {
    auto p = [&](const Tensor& t, int heads) { return permute_head_rows(t, heads, c.head_dim, c.rope_pairing, to); };
    if (c.attention == AttentionMode::Softmax) {
      L.wq = p(L.wq, c.n_heads);
      L.wk = p(L.wk, c.n_kv_heads);
    } else {  // phi's output is what RoPE rotates; Wq, Wk only feed phi's (head-mixing) input
      L.phi_q_w = p(L.phi_q_w, c.n_heads);
      L.phi_q_b = p(L.phi_q_b, c.n_heads);
      if (c.separate_kv_feature_map) {
        L.phi_k_w = p(L.phi_k_w, c.n_kv_heads);
        L.phi_k_b = p(L.phi_k_b, c.n_kv_heads);
      }
    }
  }
  out.config.rope_pairing = to;
  return out;
}

std::string find_tokenizer(const std::string& dir) {
  // A sentencepiece model first (tokenizer.model, else the only tok*.model), then a llama2.c tokenizer.bin (else the
  // only tok*.bin): `convert` copies a llama2.c model's tokenizer.bin into the folder it writes.
  const fs::path d = dir.empty() ? fs::path(".") : fs::path(dir);
  for (const char* ext : {".model", ".bin"}) {
    if (fs::is_regular_file(d / (std::string("tokenizer") + ext))) return (d / (std::string("tokenizer") + ext)).string();
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind("tok", 0) == 0 && e.path().extension() == ext)
        found.push_back(e.path().string());
    }
    if (found.size() == 1) return found[0];
    if (found.size() > 1) return {};  // two candidates: never guess
  }
  return {};
}

}  // namespace supra
