#pragma once
// Plumbing shared by the checkpoint loaders and writers (and add_supra_feature_maps, which re-pairs RoPE rows):
// typed access to JSON config keys with errors naming the file and key, a name -> tensor lookup over one or more
// safetensors files, row stacking, RoPE row-order conversion between formats, and finding the tokenizer beside
// the weights; and the name tables of the formats that name their tensors (HF, open_lm).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/io/safetensors.h"

namespace supra {

nlohmann::json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& j);
// A float as JSON with its shortest decimal spelling (1e-05, not 9.99999974737875e-06); it parses back to the
// same float.
nlohmann::json json_float(float f);

// A parsed config file. A key whose value is null counts as absent (HF writes `"head_dim": null`).
class ConfigJson {
 public:
  explicit ConfigJson(const std::string& file);
  const std::string& file() const { return file_; }
  const nlohmann::json& json() const { return j_; }
  bool has(const std::string& key) const;
  // Required keys: error "<file>: missing required key '<key>'" or naming the expected type.
  int get_int(const std::string& key) const;
  double get_num(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_str(const std::string& key) const;
  // Optional keys with a default the format itself documents.
  int get_int(const std::string& key, int dflt) const { return has(key) ? get_int(key) : dflt; }
  double get_num(const std::string& key, double dflt) const { return has(key) ? get_num(key) : dflt; }
  bool get_bool(const std::string& key, bool dflt) const { return has(key) ? get_bool(key) : dflt; }
  // Sizes and ids: an integer in [lo, hi], else "key 'k' is v: expected an integer in lo..hi" (the key's own name,
  // before any derived quantity complains about it).
  int get_int_in(const std::string& key, int lo, long hi) const;
  int get_int_in(const std::string& key, int lo, long hi, int dflt) const {
    return has(key) ? get_int_in(key, lo, hi) : dflt;
  }
  [[noreturn]] void bad(const std::string& key, const std::string& expected) const;

 private:
  std::string file_;
  nlohmann::json j_;
};

// Tensors by name over the safetensors files of one checkpoint.
class TensorStore {
 public:
  // Shards listed in a HF-style index (`weight_map`: name -> file relative to the index's folder).
  static TensorStore from_index(const std::string& index_path);
  // Every tensor of every file; a name in two files is an error.
  static TensorStore from_files(const std::vector<std::string>& files);

  bool has(const std::string& name) const { return where_of_.count(name) > 0; }
  // Error naming the file(s) and the tensor when absent.
  Tensor get(const std::string& name) const;
  // Also checks the shape: error naming the tensor, the expected and the actual shape.
  Tensor get(const std::string& name, const std::vector<int64_t>& shape) const;
  std::vector<std::string> names() const;
  const std::string& where() const { return where_; }  // the files, for error messages

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_of_;  // tensor name -> index into files_
  std::string where_;
};

// The file a sharded checkpoint's index names (weight_map value `rel`), inside the index's folder: an absolute
// path or one with a `..` component is refused naming the index and the tensor, so an index handed over with a
// checkpoint cannot make us open files elsewhere.
std::string index_shard_path(const std::string& index_path, const std::string& tensor, const std::string& rel);

std::string shape_str(const std::vector<int64_t>& shape);

// A format's tensor names (llama.cpp's tensor-name table per architecture): each tensor of its files and the
// canonical weights (engine/weights.h) it holds, one or several stacked by rows in the order given (open_lm's
// in_proj = [wq; wk; wv]). Per-layer tensors are named layer_prefix + i + "." + name. Tensors are listed in the
// order the format's writer stores them: model-level ones, the per-layer block, the rest. A format's loader and
// its saver both read its table.
struct FormatNames {
  struct Row {
    const char* name;
    std::vector<const char*> weights;
  };
  const char* layer_prefix;
  std::vector<Row> rows;
};

// One tensor of one model's file: its full name, its shape and the weights it holds.
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<Weight> parts;
};
// The tensors a model with config c stores in a format, in the format's order; rows whose weights the config
// lacks (SUPRA weights of a softmax model, output when tied) are left out.
std::vector<FileTensor> file_tensors(const FormatNames& names, const ModelConfig& c);
// The file name of the tensor that holds weight `weight` of `layer` (-1 for a model-level weight).
std::string file_name(const FormatNames& names, std::string_view weight, int layer);
// Loading: the weights of `t` (read from the file) into w, split by rows when stacked.
void take_file_tensor(const FileTensor& f, const Tensor& t, ModelWeights& w);
// Saving: the tensor to write, the weight itself or its parts stacked (a new host tensor).
Tensor make_file_tensor(const FileTensor& f, const ModelWeights& w);

// Rows of the tensors stacked into one new host tensor (all must share the row size). Keeps the dtype when they
// agree, else f32.
Tensor stack_rows(const std::vector<Tensor>& parts);
// Converts a host tensor to `dtype` (a new tensor; the same one when it already has that dtype).
Tensor to_dtype(const Tensor& t, DType dtype);

// The same model with q/k rows reordered for the other RoPE pairing, so it computes the same function: in
// softmax mode the rows of Wq, Wk; in SUPRA mode the rows of the feature maps (RoPE acts on phi's output).
// Interleaved pairs (2i, 2i+1), rotate-half pairs (i, i+d/2): HF's convert_llama_weights_to_hf permutation.
Checkpoint with_rope_pairing(const Checkpoint& ckpt, RopePairing to);

// The sentencepiece model beside the weights: `tokenizer.model`, else the only `tok*.model`; empty when there is
// none or several (we do not guess).
std::string find_tokenizer(const std::string& dir);

// The files each format reads, in a fixed order (config first, then the index if any, then shards by name);
// used by the loaders and by checkpoint_sha256 so the fingerprint covers exactly what was loaded.
std::vector<std::string> hf_checkpoint_files(const std::string& dir);
std::vector<std::string> open_lm_checkpoint_files(const std::string& dir);

}  // namespace supra
