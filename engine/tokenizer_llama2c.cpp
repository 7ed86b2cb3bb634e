// The llama2.c kind of Tokenizer: `tokenizer.bin` as llama2.c's tokenizer.py writes it (a sentencepiece vocabulary
// in id order, U+2581 turned into a space, <s> and </s> written as "\n<s>\n" and "\n</s>\n"), encoded exactly as
// llama2.c's run.c encode() does, so a llama2.c model sees the ids it was run with there.
#include <cstring>
#include <fstream>
#include <iterator>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "engine/tokenizer_kinds.h"

namespace supra {

namespace {

// Fixed by the format: run.c hard-codes BOS 1 and EOS 2, and byte pieces from id 3, as Llama's sentencepiece has them.
constexpr int32_t kUnk = 0, kBos = 1, kEos = 2;
// run.c merges a pair only when its score is above this.
constexpr float kNoMerge = -1e10f;
// What sentencepiece prints for <unk> (" ⁇ "); run.c would print "<unk>".
constexpr std::string_view kUnkSurface = " \xE2\x81\x87 ";
constexpr int32_t kMaxTokenLength = 65535;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

int32_t read_i32(const std::string& data, size_t at) {
  int32_t v;
  std::memcpy(&v, data.data() + at, sizeof v);
  return v;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte a "<0xXX>" piece stands for, or -1.
int byte_piece_value(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  const int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Length of the well-formed UTF-8 character at s[0] (the ranges of Unicode's table 3-7), or 0.
size_t utf8_char_length(std::string_view s) {
  const auto b = [&](size_t i) { return uint8_t(s[i]); };
  const auto in = [&](size_t i, uint8_t lo, uint8_t hi) { return i < s.size() && b(i) >= lo && b(i) <= hi; };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// Raw bytes of consecutive byte pieces: well-formed UTF-8 is kept as is (as run.c prints it), any other byte
// becomes U+FFFD (as sentencepiece decodes it), so decoded text is always valid UTF-8.
void append_bytes(std::string_view bytes, std::string& out) {
  while (!bytes.empty()) {
    const size_t n = utf8_char_length(bytes);
    if (n == 0) {
      out += kReplacement;
      bytes.remove_prefix(1);
    } else {
      out += bytes.substr(0, n);
      bytes.remove_prefix(n);
    }
  }
}

class Llama2cTokenizer final : public Tokenizer::Impl {
 public:
  Llama2cTokenizer(const Llama2cTokenizer&) = delete;  // ids_ views the pieces of this object
  explicit Llama2cTokenizer(const std::string& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open the tokenizer file", path);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 4)
      fail("{}: {} bytes; a llama2.c tokenizer.bin starts with an int32 max_token_length", path, data.size());
    const int32_t max_len = read_i32(data, 0);
    if (max_len < 1 || max_len > kMaxTokenLength)
      fail("{}: max_token_length is {}, expected 1..{}", path, max_len, kMaxTokenLength);
    size_t at = 4;
    while (at < data.size()) {
      const size_t id = pieces_.size();
      if (data.size() - at < 8)
        fail("{}: token {} (byte {}): the file ends inside the record; expected float32 score, int32 length, bytes",
             path, id, at);
      float score;
      std::memcpy(&score, data.data() + at, sizeof score);
      const int32_t len = read_i32(data, at + 4);
      if (len < 1 || len > max_len)
        fail("{}: token {} (byte {}): length {}, expected 1..max_token_length ({})", path, id, at + 4, len, max_len);
      at += 8;
      if (data.size() - at < size_t(len))
        fail("{}: token {} (byte {}): the file ends inside its {} bytes", path, id, at, len);
      pieces_.push_back(data.substr(at, size_t(len)));
      scores_.push_back(score);
      at += size_t(len);
    }
    if (pieces_.size() < 3)
      fail("{}: {} tokens; a llama2.c tokenizer.bin holds at least <unk>, <s> and </s> (ids 0, 1, 2)", path,
           pieces_.size());
    // A piece written twice keeps its first id (run.c's binary search would pick either).
    for (size_t i = 0; i < pieces_.size(); i++) ids_.emplace(pieces_[i], int32_t(i));
    byte_value_.resize(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); i++) byte_value_[i] = byte_piece_value(pieces_[i]);
    // run.c falls back to id byte+3; looking the piece up gives the same ids in every vocabulary that has byte
    // pieces, and <unk> (as sentencepiece) in one that has none.
    for (int b = 0; b < 256; b++) {
      const int32_t id = lookup(fmt::format("<0x{:02X}>", b));
      byte_id_[b] = id >= 0 ? id : kUnk;
    }
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    if (text.empty()) return ids;
    ids.reserve(text.size() + 1);
    // sentencepiece's add_dummy_prefix, done as run.c does it: a space token first.
    push_unit(" ", ids);
    // One UTF-8 character at a time, grouped as run.c groups them (any byte, then the continuation bytes after
    // it, at most 4 bytes in all), so malformed UTF-8 splits the same way. Unlike run.c (a C string), a NUL byte
    // does not end the text: it is encoded like any other byte.
    size_t start = 0;
    for (size_t i = 0; i < text.size(); i++) {
      const bool continuation_next = i + 1 < text.size() && (uint8_t(text[i + 1]) & 0xC0) == 0x80;
      if (continuation_next && i + 1 - start < 4) continue;
      push_unit(text.substr(start, i + 1 - start), ids);
      start = i + 1;
    }
    merge(ids);
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out, bytes;
    bool starts_text = true;  // at the start, or right after BOS: the piece's leading space is the dummy prefix
    for (const int32_t id : ids) {
      check_id(id);
      if (byte_value_[size_t(id)] >= 0) {
        bytes.push_back(char(byte_value_[size_t(id)]));
        starts_text = false;
        continue;
      }
      append_bytes(bytes, out);
      bytes.clear();
      if (id == kBos) {
        starts_text = true;
      } else if (id == kEos) {
        // prints nothing, as sentencepiece's control tokens
      } else if (id == kUnk) {
        out += kUnkSurface;
        starts_text = false;
      } else {
        std::string_view p = pieces_[size_t(id)];
        if (starts_text && p.front() == ' ') p.remove_prefix(1);
        out += p;
        starts_text = false;
      }
    }
    append_bytes(bytes, out);
    return out;
  }

  std::string piece(int32_t id) const override {
    check_id(id);
    return pieces_[size_t(id)];
  }
  int bos_id() const override { return kBos; }
  int eos_id() const override { return kEos; }
  int vocab_size() const override { return int(pieces_.size()); }
  const char* kind() const override { return "llama2c"; }

 private:
  int32_t lookup(std::string_view s) const {
    const auto it = ids_.find(s);
    return it == ids_.end() ? -1 : it->second;
  }

  void check_id(int32_t id) const {
    if (id < 0 || size_t(id) >= pieces_.size())
      fail("{}: token id {} is outside the vocabulary (0..{})", path_, id, pieces_.size() - 1);
  }

  // A character's piece, or one byte piece per byte when the vocabulary has no piece for it (byte fallback).
  void push_unit(std::string_view unit, std::vector<int32_t>& ids) const {
    if (const int32_t id = lookup(unit); id >= 0) {
      ids.push_back(id);
      return;
    }
    for (const char c : unit) ids.push_back(byte_id_[uint8_t(c)]);
  }

  // run.c's merge rule: repeatedly join the adjacent pair whose concatenated pieces form the best-scoring piece
  // (the leftmost on a tie). run.c rescans the whole list per merge (quadratic in the text's length); a heap of
  // candidate pairs, dropping those a merge has made stale, picks the same pair each step in n log n.
  void merge(std::vector<int32_t>& ids) const {
    const int32_t n = int32_t(ids.size());
    struct Symbol {
      int32_t id, prev, next;  // id -1: merged into its left neighbour
    };
    std::vector<Symbol> sym(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; i++) sym[size_t(i)] = {ids[size_t(i)], i - 1, i + 1 < n ? i + 1 : -1};
    struct Pair {
      float score;
      int32_t left, right, left_id, right_id, merged;
    };
    const auto worse = [](const Pair& a, const Pair& b) {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    };
    std::priority_queue<Pair, std::vector<Pair>, decltype(worse)> heap(worse);
    std::string joined;
    const auto consider = [&](int32_t l, int32_t r) {
      if (l < 0 || r < 0) return;
      const int32_t a = sym[size_t(l)].id, b = sym[size_t(r)].id;
      joined.assign(pieces_[size_t(a)]);
      joined += pieces_[size_t(b)];
      const int32_t m = lookup(joined);
      if (m >= 0 && scores_[size_t(m)] > kNoMerge) heap.push({scores_[size_t(m)], l, r, a, b, m});
    };
    for (int32_t i = 0; i + 1 < n; i++) consider(i, i + 1);
    while (!heap.empty()) {
      const Pair p = heap.top();
      heap.pop();
      Symbol& l = sym[size_t(p.left)];
      Symbol& r = sym[size_t(p.right)];
      if (l.id != p.left_id || l.next != p.right || r.id != p.right_id) continue;  // stale
      l.id = p.merged;
      l.next = r.next;
      if (r.next >= 0) sym[size_t(r.next)].prev = p.left;
      r.id = -1;
      consider(l.prev, p.left);
      consider(p.left, l.next);
    }
    ids.clear();
    for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = sym[size_t(i)].next) ids.push_back(sym[size_t(i)].id);
  }

  std::string path_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string_view, int32_t> ids_;  // views into pieces_, which no longer changes
  std::vector<int> byte_value_;                        // the byte a <0xXX> piece stands for, -1 for other pieces
  int32_t byte_id_[256];                               // the piece of each byte for byte fallback
};

}  // namespace

bool looks_like_llama2c_tokenizer(std::string_view first_bytes) {
  if (first_bytes.size() < 4) return false;
  int32_t max_len;
  std::memcpy(&max_len, first_bytes.data(), sizeof max_len);
  return max_len >= 1 && max_len <= kMaxTokenLength;
}

std::unique_ptr<Tokenizer::Impl> open_llama2c_tokenizer(const std::string& path) {
  return std::make_unique<Llama2cTokenizer>(path);
}

}  // namespace supra
