#pragma once
// One implementation of the SCROLLS-style tasks (the seven official ones and the bundled fixtures in SCROLLS
// layout), parameterised by a spec: which prompt, which request types, which metrics, which generation budget.
//
// Prompts follow lm-eval's SCROLLS tasks (lm_eval/tasks/scrolls/task.py), with the query moved after the document:
//   QA, query-based summary (qmsum)  {document}\n\nQuestion: {query}\nAnswer:
//   summary (gov_report, summ_screen)  {input}\n\nQuestion: What is a summary of the preceding text?\nAnswer:
//   ContractNLI                        {document}\n\nHypothesis: {query}\nConclusion:
//   QuALITY                            {article}\n\nQuestion: {question}\nAnswer:   (options are NOT in the prompt;
//                                      each is scored as a continuation " " + option)
// Each request carries PromptText {prefix = few-shot examples or "", document, suffix = "\n\nQuestion: ...\nAnswer:"}
// so the harness can cut the document with the run's truncation policy (default doc_end).
//
// Requests and per-document metrics (every F1/EM/ROUGE value is stored x 100, so the Mean aggregate is the number
// SCROLLS reports; acc / acc_norm / acc_bytes stay fractions as in every multiple-choice task):
//   summary, qmsum   generate_until "\n", budget 1024 / 512 / 512; rouge1, rouge2, rougeL (each maxed over the
//                    references on its own). The SCROLLS score is the geometric mean of the three task means, which
//                    a per-document Mean cannot express: it is computed from the aggregates (metrics.h
//                    geometric_mean3), see scrolls/README.md.
//   narrative_qa     generate_until "\n", budget 64; f1 and em (max over references).
//   qasper           a question whose references ALL normalise to "yes" or "no" is two loglikelihood requests,
//                    " yes" and " no", and the prediction is " yes" when (ll, is_greedy) of yes > that of no
//                    (lm-eval compares the tuples), else " no"; any other
//                    question is generate_until "\n" (budget 128) whose empty (after strip) output counts as
//                    "Unanswerable". f1 (lm-eval's metric) and em.
//   quality          loglikelihood of each option; acc, acc_norm, acc_bytes and em = 100 * acc_norm (lm-eval's em).
//   contract_nli     loglikelihood of "Not mentioned", "Entailment", "Contradiction" (lm-eval's order); same metrics.
//
// Few-shot examples (--shots; qasper defaults to 2, the paper's setting, every other task to 0) are drawn from the
// evaluated file itself with the evaluated example excluded (tasks/fewshot.h sample_fewshot, seeded). To keep them
// short they carry NO document: each is the example's query line and its answer, e.g.
//   "Question: {query}\nAnswer: {first reference}\n\n"
// (the gold option for quality and contract_nli). A Qasper paper is ~5k tokens: two whole papers as examples (as
// lm-eval builds them) would leave little or no room for the evaluated one at 2k-16k tokens, and doc_end keeps the
// prefix whole, so the evaluated document would be the one cut.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/task.h"

namespace supra::scrolls {

enum class ScrollsKind {
  Summary,       // gov_report, summ_screen_fd: the whole input is the document
  QuerySummary,  // qmsum: query + "\n\n" + document, ROUGE
  QA,            // narrative_qa, wikiqa fixture: F1 / EM of the generation
  Qasper,        // QA with yes/no questions scored by loglikelihood
  Quality,       // multiple choice, options "(A) .. (D)" between the question and the article
  ContractNli,   // multiple choice over three fixed labels
};

struct ScrollsSpec {
  std::string name;
  ScrollsKind kind = ScrollsKind::QA;
  int max_gen_toks = 0;   // generation budget of generate_until requests (0: the task generates nothing)
  int default_shots = 0;
  std::string about;      // one line for the description
};

// The specs of the official SCROLLS tasks: gov_report, summ_screen_fd, qmsum, qasper, narrative_qa, quality,
// contract_nli (the task table's order).
const std::vector<ScrollsSpec>& official_scrolls_specs();
// The spec of an official SCROLLS task; error for another name.
const ScrollsSpec& official_scrolls_spec(const std::string& name);

// Where a task's JSONL comes from: a user file (path; its sha256 becomes part of the run key), a bundled registry
// dataset (verified against the registry; data_sha256() is ""), or, when both are empty, the official layout
// <data root>/<task>/validation.jsonl.
struct ScrollsSource {
  std::string path;
  std::string dataset;  // registry name of a bundled SCROLLS-layout file
};

std::unique_ptr<tasks::Task> make_spec_task(ScrollsSpec spec, ScrollsSource source);

// QuALITY's options, parsed from the text after the question as lm-eval does: the options run up to the first
// blank line after "(D)"; they are split at the markers " *\([A-D]\) *" (text before the first marker dropped), and
// each is whitespace-normalised (" ".join(s.split())). `article` is the rest, stripped. Error naming `source` when
// there is no "(D)", no blank line after it, or fewer than 2 options.
struct QualityOptions {
  std::vector<std::string> choices;
  std::string_view article;
};
QualityOptions parse_quality_options(std::string_view text, std::string_view source);

// " ".join(s.split()) with Python's whitespace.
std::string collapse_whitespace(std::string_view s);

}  // namespace supra::scrolls
