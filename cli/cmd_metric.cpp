// supra-eval metric: the SCROLLS metrics (scrolls/metrics.h) on a JSONL file of {"prediction": "...",
// "references": ["...", ...]} rows, e.g. to score another harness's outputs exactly as our tasks do. Prints one
// line per row (the row's value x 100, maxed over its references) and the aggregate: for em and f1 the mean; for
// rouge the three means and their geometric mean (the SCROLLS score of a summarisation task). Values are x 100 with
// 4 decimals, as the official SCROLLS metric rounds them. Other fields of a row (an id, say) are ignored.
#include <fmt/format.h>

#include <cstdio>

#include "datasets/jsonl.h"
#include "core/error.h"
#include "cli/commands.h"
#include "scrolls/metrics.h"

namespace supra {

void register_metric(CLI::App& app) {
  struct Args {
    std::string name, input;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("metric", "score predictions against references with a SCROLLS metric (em, f1, rouge)");
  cmd->add_option("--name", args->name, "em | f1 | rouge")->required()->check(CLI::IsMember({"em", "f1", "rouge"}));
  cmd->add_option("--input", args->input, "JSONL file, one {\"prediction\": str, \"references\": [str, ...]} per line")
      ->required();
  cmd->callback([args] {
    const std::filesystem::path file = args->input;
    const auto records = datasets::read_jsonl(file);
    if (records.empty()) fail("{}: no rows to score", args->input);
    std::vector<double> values;
    std::vector<scrolls::RougeF> rouges;
    std::string out = args->name == "rouge" ? "line\trouge1\trouge2\trougeL\n" : fmt::format("line\t{}\n", args->name);
    for (const datasets::JsonlRecord& r : records) {
      const datasets::JsonFields f(file, r);
      const std::string prediction = f.string("prediction");
      const std::vector<std::string> references = f.strings("references");
      if (references.empty()) f.fail_field("references", "expected at least one reference, found an empty array");
      if (args->name == "rouge") {
        const scrolls::RougeF s = scrolls::max_rouge(prediction, references);
        rouges.push_back(s);
        out += fmt::format("{}\t{:.4f}\t{:.4f}\t{:.4f}\n", r.line, 100 * s.rouge1, 100 * s.rouge2, 100 * s.rougeL);
      } else {
        const double v = args->name == "em" ? scrolls::max_exact_match(prediction, references)
                                            : scrolls::max_token_f1(prediction, references);
        values.push_back(v);
        out += fmt::format("{}\t{:.4f}\n", r.line, 100 * v);
      }
    }
    if (args->name == "rouge") {
      const scrolls::SummaryScores s = scrolls::summarization_scores(rouges);
      out += fmt::format("mean\t{:.4f}\t{:.4f}\t{:.4f}\ngeometric_mean\t{:.4f}\n", s.rouge1, s.rouge2, s.rougeL,
                         s.geometric_mean);
    } else {
      out += fmt::format("mean\t{:.4f}\n", scrolls::mean_x100(values));
    }
    std::fputs(out.c_str(), stdout);
  });
}

}  // namespace supra
