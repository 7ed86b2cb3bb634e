#pragma once
// HellaSwag in llama.cpp's `--hellaswag` text format (klosax/hellaswag_text_data), 6 lines per task:
//   <activity_label>: <ctx>     ctx = ctx_a + " " + ctx_b, already cleaned, ctx_b NOT capitalised
//   <gold index 0..3>
//   <ending 0> .. <ending 3>
// The bundled validation split is cut into three part files at task boundaries (tasks 0-3499, 3500-6999,
// 7000-10041) to keep each under 4 MiB; read them in that order.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace supra::datasets {

struct HellaswagRecord {
  std::string activity_label;  // text before the first ": " of the context line
  std::string ctx;             // text after it: ctx_a + " " + ctx_b exactly as stored (ctx_b lower-case)
  int gold;                    // 0-based index of the correct ending
  std::array<std::string, 4> endings;
};

// One file of whole tasks. Errors name file and line: a context line without ": ", a gold
// line that is not one digit 0..3, an empty ending, a truncated last task.
std::vector<HellaswagRecord> read_hellaswag_6line(const std::filesystem::path& file);

// Several part files, concatenated in the given order.
std::vector<HellaswagRecord> read_hellaswag_6line(const std::vector<std::filesystem::path>& parts);

}  // namespace supra::datasets
