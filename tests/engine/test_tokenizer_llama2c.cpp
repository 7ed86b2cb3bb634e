// llama2.c's tokenizer.bin read as a Tokenizer: encode equals llama2.c run.c's encode() on tok512.bin (expected ids
// in tests/fixtures/tok512_llama2c_encode.jsonl, produced with run.c itself), decode gives the text back, the kind
// is told by the file, malformed files are refused by name, and the file is found beside a llama2.c .bin.
//
// Against the sentencepiece tok512.model (the same vocabulary), the encodings agree except where the text has
// leading, trailing or repeated spaces: tok512.model has remove_extra_whitespaces on, so sentencepiece drops
// leading/trailing spaces and collapses runs of spaces first, while run.c (and so tokenizer.bin) keeps every
// space (" leading space" -> run.c [410 278 ...], sentencepiece [278 ...]; " " -> run.c [410 410], sentencepiece
// []). The test asserts exactly that: equal ids on the text with spaces trimmed and collapsed.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "core/error.h"
#include "engine/tokenizer.h"

namespace fs = std::filesystem;
using namespace supra;
using Catch::Contains;

namespace {

const std::string kDir = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/";

const Tokenizer& tok_bin() {
  static Tokenizer t(kDir + "tok512.bin");
  return t;
}

const Tokenizer& tok_model() {
  static Tokenizer t(kDir + "tok512.model");
  return t;
}

struct Case {
  std::string text;
  bool valid_utf8 = true;  // false: given as hex in the fixture
  std::vector<int32_t> ids;
};

std::string from_hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(char(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

const std::vector<Case>& fixture() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> v;
    std::ifstream in(std::string(SUPRA_SOURCE_DIR) + "/tests/fixtures/tok512_llama2c_encode.jsonl");
    REQUIRE(in.good());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto j = nlohmann::json::parse(line);
      Case c;
      if (j.contains("text")) {
        c.text = j["text"].get<std::string>();
      } else {
        c.text = from_hex(j["hex"].get<std::string>());
        c.valid_utf8 = false;
      }
      c.ids = j["ids"].get<std::vector<int32_t>>();
      v.push_back(std::move(c));
    }
    return v;
  }();
  return cases;
}

// What sentencepiece's remove_extra_whitespaces leaves of the spaces: none at either end, one in a row.
std::string squeeze_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() / fmt::format("supra_test_tok_llama2c_{}_{}", ::getpid(), n++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string i32(int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string f32(float v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

TEST_CASE("tokenizer kind is told by the file: tok512.bin is llama2.c, tok512.model sentencepiece", "[tokenizer]") {
  CHECK(std::string(tok_bin().kind()) == "llama2c");
  CHECK(std::string(tok_model().kind()) == "sentencepiece");
  CHECK(tok_bin().vocab_size() == 512);
  CHECK(tok_bin().bos_id() == 1);
  CHECK(tok_bin().eos_id() == 2);
  CHECK(tok_bin().piece(403) == " Once");
  CHECK(tok_bin().piece(13) == "<0x0A>");
  // Named like a sentencepiece model, still read by its bytes.
  TempDir d;
  fs::copy_file(kDir + "tok512.bin", d.path / "renamed.model");
  CHECK(std::string(Tokenizer((d.path / "renamed.model").string()).kind()) == "llama2c");
}

TEST_CASE("llama2.c tokenizer.bin encodes as llama2.c run.c on tok512.bin", "[tokenizer]") {
  const auto& cases = fixture();
  REQUIRE(cases.size() >= 30);
  for (const auto& c : cases) {
    INFO("text: '" << c.text << "'");
    CHECK(tok_bin().encode(c.text) == c.ids);
  }
}

TEST_CASE("llama2.c tokenizer.bin decode gives the text back", "[tokenizer]") {
  const Tokenizer& t = tok_bin();
  for (const auto& c : fixture()) {
    if (!c.valid_utf8) continue;
    INFO("text: '" << c.text << "'");
    std::vector<int32_t> with_bos{t.bos_id()};
    with_bos.insert(with_bos.end(), c.ids.begin(), c.ids.end());
    CHECK(t.decode(with_bos) == c.text);  // run.c: the space after BOS is the dummy prefix
    CHECK(t.decode(c.ids) == c.text);     // sentencepiece: so is the space that starts the list
  }
  // A continuation keeps its spaces after the first piece; BOS and EOS print nothing.
  CHECK(t.decode({407, 261, 378}) == "upon a time");
  CHECK(t.decode({403, 407}) == "Once upon");
  CHECK(t.decode({1, 403, 407, 2}) == "Once upon");
  CHECK(t.decode({403, 2, 403}) == "Once Once");
  CHECK(t.decode({1, 2}).empty());
  CHECK(t.decode({}).empty());
  // run.c strips the space after every BOS.
  CHECK(t.decode({403, 1, 403}) == "OnceOnce");
  // <unk> reads as sentencepiece's " ⁇ ".
  CHECK(t.decode({0}) == " \xE2\x81\x87 ");
  // Byte pieces: well-formed UTF-8 as is, a malformed byte as U+FFFD (as sentencepiece), never raw.
  CHECK(t.decode({233, 154, 168}) == "\xE6\x97\xA5");
  CHECK(t.decode({258}) == "\xEF\xBF\xBD");
  CHECK(t.decode({233, 154}) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(t.decode({13, 403}) == "\n Once");
  CHECK_THROWS_WITH(t.decode({512}), Contains("tok512.bin") && Contains("token id 512 is outside the vocabulary"));
  CHECK_THROWS_WITH(t.piece(-1), Contains("token id -1"));
}

TEST_CASE("llama2.c tokenizer.bin encodes a NUL byte as its byte piece", "[tokenizer]") {
  // run.c takes a C string and stops at NUL; we encode it like any other byte.
  using namespace std::string_literals;
  CHECK(tok_bin().encode("a\0b"s) == std::vector<int32_t>{261, 3, 430});
  CHECK(tok_bin().decode(tok_bin().encode("a\0b"s)) == "a\0b"s);
}

TEST_CASE("llama2.c tokenizer.bin and sentencepiece tok512.model encode alike up to extra spaces", "[tokenizer]") {
  int same = 0;
  for (const auto& c : fixture()) {
    if (!c.valid_utf8) continue;
    INFO("text: '" << c.text << "'");
    const auto sp = tok_model().encode(c.text);
    CHECK(sp == tok_bin().encode(squeeze_spaces(c.text)));
    if (squeeze_spaces(c.text) == c.text) {
      CHECK(sp == c.ids);
      CHECK(tok_model().decode(sp) == tok_bin().decode(sp));
      same++;
    }
  }
  CHECK(same >= 20);
  // A long text: many merges, the same ids.
  std::string golden = slurp(std::string(SUPRA_SOURCE_DIR) + "/tests/fixtures/golden_greedy.txt");
  std::string big;
  for (int i = 0; i < 40; i++) {
    if (i) big += ' ';
    big += squeeze_spaces(golden);
  }
  const auto ids = tok_bin().encode(big);
  CHECK(ids.size() > 5000);
  CHECK(ids == tok_model().encode(big));
  CHECK(tok_bin().decode(ids) == big);
}

TEST_CASE("llama2.c tokenizer.bin: malformed files are refused by name and field", "[tokenizer]") {
  TempDir d;
  const std::string good = slurp(kDir + "tok512.bin");
  const auto path = [&](const char* name) { return (d.path / name).string(); };

  write(d.path / "short.bin", std::string("\x07\x00", 2));
  CHECK_THROWS_WITH(Tokenizer(path("short.bin")), Contains("short.bin") && Contains("cannot load the tokenizer"));

  write(d.path / "cut.bin", good.substr(0, good.size() - 3));
  CHECK_THROWS_WITH(Tokenizer(path("cut.bin")),
                    Contains("cut.bin") && Contains("token 511") && Contains("the file ends inside its"));

  write(d.path / "cut_record.bin", good.substr(0, 4 + 8 + 5 + 6));
  CHECK_THROWS_WITH(Tokenizer(path("cut_record.bin")),
                    Contains("cut_record.bin") && Contains("token 1") && Contains("ends inside the record"));

  write(d.path / "too_long.bin", i32(3) + f32(0) + i32(5) + "<unk>");
  CHECK_THROWS_WITH(Tokenizer(path("too_long.bin")), Contains("too_long.bin") && Contains("token 0") &&
                                                        Contains("length 5, expected 1..max_token_length (3)"));

  write(d.path / "empty_piece.bin", i32(7) + f32(0) + i32(0));
  CHECK_THROWS_WITH(Tokenizer(path("empty_piece.bin")), Contains("empty_piece.bin") && Contains("length 0"));

  write(d.path / "two.bin", i32(7) + f32(0) + i32(5) + "<unk>" + f32(0) + i32(5) + "\n<s>\n");
  CHECK_THROWS_WITH(Tokenizer(path("two.bin")), Contains("two.bin") && Contains("2 tokens") && Contains("at least"));

  // Neither kind: the message says what was tried.
  write(d.path / "junk.model", "this is not a tokenizer at all");
  CHECK_THROWS_WITH(Tokenizer(path("junk.model")),
                    Contains("junk.model") && Contains("tokenizer.bin") && Contains("sentencepiece"));
  CHECK_THROWS_WITH(Tokenizer(path("missing.bin")), Contains("missing.bin") && Contains("cannot open"));
}

TEST_CASE("a llama2.c .bin finds its tokenizer.bin beside it, and a sentencepiece .model there wins",
          "[tokenizer][loaders]") {
  TempDir d;
  const fs::path weights = d.path / "model.bin";
  fs::copy_file(kDir + "stories260K.bin", weights);
  CHECK(load_checkpoint(weights.string()).tokenizer.empty());

  fs::copy_file(kDir + "tok512.bin", d.path / "tok512.bin");
  CHECK(fs::path(load_checkpoint(weights.string()).tokenizer).filename() == "tok512.bin");

  fs::copy_file(kDir + "tok512.bin", d.path / "tokenizer.bin");
  CHECK(fs::path(load_checkpoint(weights.string()).tokenizer).filename() == "tokenizer.bin");

  fs::copy_file(kDir + "tok512.model", d.path / "tok512.model");
  CHECK(fs::path(load_checkpoint(weights.string()).tokenizer).filename() == "tok512.model");

  // --tokenizer takes either kind.
  LoadOptions lo;
  lo.tokenizer = (d.path / "tokenizer.bin").string();
  const Checkpoint ck = load_checkpoint(weights.string(), lo);
  CHECK(ck.tokenizer == lo.tokenizer);
  CHECK(std::string(Tokenizer(ck.tokenizer).kind()) == "llama2c");
}

TEST_CASE("llama2.c tokenizer.bin discovery: of two tok*.bin beside the weights neither is guessed",
          "[tokenizer][loaders]") {
  TempDir d;
  const fs::path weights = d.path / "model.bin";
  fs::copy_file(kDir + "stories260K.bin", weights);
  fs::copy_file(kDir + "tok512.bin", d.path / "tok512.bin");
  fs::copy_file(kDir + "tok512.bin", d.path / "tok512b.bin");
  CHECK(load_checkpoint(weights.string()).tokenizer.empty());
}
