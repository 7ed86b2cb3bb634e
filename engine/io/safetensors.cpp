#include "engine/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <tuple>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace supra {

namespace {

// The safetensors spellings of the dtypes we can hold. Anything else (F64, I64, U8, F8_*) is refused by name.
bool st_dtype(const std::string& s, DType& out) {
  if (s == "F32") out = DType::F32;
  else if (s == "F16") out = DType::F16;
  else if (s == "BF16") out = DType::BF16;
  else if (s == "I32") out = DType::I32;
  else return false;
  return true;
}

const char* st_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
  }
  return "?";
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  MappedFile m = map_file(path);
  size_ = m.size;
  if (size_ < 8)
    fail("{}: file is {} bytes, too short for a safetensors header (8-byte length + JSON)", path, size_);
  map_ = m.owner;
  uint8_t* base = m.data;

  uint64_t header_len = 0;
  for (int i = 0; i < 8; i++) header_len |= uint64_t(base[i]) << (8 * i);  // little-endian on every host
  // The reference reader's bound: a header is a list of names and shapes, never near this size.
  constexpr uint64_t kMaxHeader = 100u << 20;
  if (header_len > kMaxHeader)
    fail("{}: header length {} is over the {}-byte limit of safetensors headers: not a safetensors file", path,
         header_len, kMaxHeader);
  if (header_len > size_ - 8)
    fail("{}: header length {} is larger than the file ({} bytes): not a safetensors file or truncated", path,
         header_len, size_);

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base + 8, base + 8 + header_len);
  } catch (const nlohmann::json::exception& ex) {
    fail("{}: safetensors header is not JSON: {}", path, ex.what());
  }
  if (!header.is_object()) fail("{}: safetensors header must be a JSON object, got {}", path, header.type_name());

  const size_t data_start = 8 + header_len;
  const size_t data_size = size_ - data_start;
  uint8_t* data = base + data_start;
  struct Span {
    uint64_t begin, end;
    std::string name;
    bool operator<(const Span& o) const { return std::tie(begin, end) < std::tie(o.begin, o.end); }
  };
  std::vector<Span> spans;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      metadata_ = entry;
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail("{}: tensor '{}': header entry must be an object with dtype, shape and data_offsets", path, name);
    const auto& jd = entry["dtype"];
    const auto& js = entry["shape"];
    const auto& jo = entry["data_offsets"];
    if (!jd.is_string()) fail("{}: tensor '{}': dtype must be a string", path, name);
    Tensor t;
    if (!st_dtype(jd.get<std::string>(), t.dtype))
      fail("{}: tensor '{}': unknown dtype '{}' (expected F32, F16, BF16 or I32)", path, name,
           jd.get<std::string>());
    if (!js.is_array()) fail("{}: tensor '{}': shape must be an array", path, name);
    uint64_t numel = 1;
    for (const auto& d : js) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        fail("{}: tensor '{}': shape {} must hold non-negative integers", path, name, js.dump());
      t.shape.push_back(d.get<int64_t>());
      numel = checked_mul(numel, uint64_t(t.shape.back()), fmt::format("{}: tensor '{}': shape {}", path, name, js.dump()));
    }
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      fail("{}: tensor '{}': data_offsets must be [begin, end], got {}", path, name, jo.dump());
    const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (begin > end) fail("{}: tensor '{}': data_offsets [{}, {}] end before they begin", path, name, begin, end);
    const uint64_t want = checked_mul(numel, dtype_size(t.dtype), fmt::format("{}: tensor '{}': bytes", path, name));
    if (end - begin != want)
      fail("{}: tensor '{}': shape {} of {} needs {} bytes but data_offsets [{}, {}] span {} bytes", path, name,
           t.shape_str(), jd.get<std::string>(), want, begin, end, end - begin);
    if (end > data_size)
      fail("{}: tensor '{}': data_offsets [{}, {}] lie outside the data area of {} bytes: the file is truncated "
           "or corrupt",
           path, name, begin, end, data_size);
    t.data = data + begin;
    t.owner = map_;
    spans.push_back({begin, end, name});
    tensors_.emplace(name, std::move(t));
  }
  // As the reference reader requires: the tensors tile the data area, back to back from 0 to its end. Overlapping
  // tensors would alias one another's bytes; a gap is bytes no tensor accounts for.
  std::sort(spans.begin(), spans.end());
  uint64_t at = 0;
  for (const Span& sp : spans) {
    if (sp.begin != at)
      fail("{}: tensor '{}': data_offsets begin at {}, expected {} ({}): tensors must lie back to back without "
           "overlap",
           path, sp.name, sp.begin, at, sp.begin < at ? "it overlaps the tensor before it" : "a gap before it");
    at = sp.end;
  }
  if (at != data_size)
    fail("{}: the tensors end at byte {} of a data area of {} bytes: trailing bytes no tensor accounts for", path,
         at, data_size);
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: tensor '{}' not found", path_, name);
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> v;
  v.reserve(tensors_.size());
  for (const auto& [k, t] : tensors_) v.push_back(k);
  return v;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       DType dtype, const nlohmann::json& metadata) {
  // Tensors go in sorted name order, as the reference implementation lays them out.
  std::vector<const std::pair<std::string, Tensor>*> order;
  std::set<std::string> seen;
  for (const auto& p : tensors) {
    if (!seen.insert(p.first).second) fail("{}: tensor '{}' given twice", path, p.first);
    if (p.first == "__metadata__") fail("{}: '__metadata__' is reserved and cannot name a tensor", path);
    if (p.second.device != Device::CPU) fail("{}: tensor '{}' is not on the host", path, p.first);
    if (p.second.empty() && p.second.numel() > 0) fail("{}: tensor '{}' has no data", path, p.first);
    const bool is_int = p.second.dtype == DType::I32 || dtype == DType::I32;
    if (is_int && p.second.dtype != dtype)
      fail("{}: tensor '{}': cannot convert {} to {}", path, p.first, dtype_name(p.second.dtype), dtype_name(dtype));
    order.push_back(&p);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->first < b->first; });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.is_null() && !metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto* p : order) {
    const uint64_t bytes = uint64_t(p->second.numel()) * dtype_size(dtype);
    header[p->first] = {{"dtype", st_name(dtype)}, {"shape", p->second.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces so the data area starts 8-byte aligned (as the reference writer does).
  text.append((8 - text.size() % 8) % 8, ' ');

  // Written beside the target and renamed at the end: a reader never sees half a file, and a mapping of the
  // old file (say, the checkpoint being converted) stays valid instead of faulting on a truncated file.
  const std::string tmp = path + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) fail("{}: cannot create: {}", tmp, std::strerror(errno));
  auto put = [&](const void* d, size_t n) {
    if (n && std::fwrite(d, 1, n, f.get()) != n) fail("{}: write failed: {}", path, std::strerror(errno));
  };
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  put(len, 8);
  put(text.data(), text.size());
  std::vector<float> f32;
  std::vector<uint8_t> out;
  for (const auto* p : order) {
    const Tensor& t = p->second;
    if (t.dtype == dtype) {
      put(t.data, t.nbytes());
      continue;
    }
    // Convert a row block at a time so a large tensor never needs a full fp32 copy.
    const size_t n = size_t(t.numel());
    const size_t block = 1 << 20;
    for (size_t i = 0; i < n; i += block) {
      const size_t m = std::min(block, n - i);
      f32.resize(m);
      out.resize(m * dtype_size(dtype));
      convert_to_f32(t.dtype, static_cast<const uint8_t*>(t.data) + i * dtype_size(t.dtype), f32.data(), m);
      convert_from_f32(dtype, f32.data(), out.data(), m);
      put(out.data(), out.size());
    }
  }
  if (std::fclose(f.release()) != 0) fail("{}: write failed: {}", tmp, std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail("{}: cannot rename {} into place: {}", path, tmp, std::strerror(errno));
}

}  // namespace supra
