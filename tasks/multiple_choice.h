#pragma once
// lm-eval's `output_type: multiple_choice` in one place: one loglikelihood request per choice, all with the same
// context, continuation = target delimiter " " + choice; then
//   acc       = [argmax_i ll_i == gold]
//   acc_norm  = [argmax_i ll_i / len(choice_i) == gold]   len = Python len(): code points, delimiter NOT counted
//   acc_bytes = [argmax_i ll_i / utf8_bytes(choice_i) == gold]   (our addition, EVALUATION.md section 3)
// argmax is numpy's: the first maximum wins a tie, and a NaN wins (the first NaN) if there is one.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tasks/task.h"

namespace supra::tasks {

// One document as lm-eval's doc_to_text / doc_to_choice / doc_to_target see it.
struct ChoiceDoc {
  std::string text;                  // doc_to_text (the prompt without shots or description)
  std::vector<std::string> choices;  // doc_to_choice, without the target delimiter
  int gold = 0;                      // index into choices
};

// numpy.argmax over doubles (see above). Error on an empty list.
size_t np_argmax(const std::vector<double>& xs);

// The metric specs of a multiple-choice task: acc, and with `norm` also acc_norm and acc_bytes (all means).
std::vector<MetricSpec> choice_metric_specs(bool norm);

// Per-document metrics from the loglikelihoods of the choices (in choice order). `task`/`doc` name errors: a count
// of responses different from the number of choices.
DocMetrics choice_metrics(const std::string& task, int64_t doc, const std::vector<Response>& responses,
                          const std::vector<std::string>& choices, int gold, bool norm);

// A multiple-choice task over a vector of documents. Subclasses fill docs_ (and pool_ when the few-shot examples come
// from another split) in load_docs(); everything else is shared.
class ChoiceTask : public Task {
 public:
  struct Info {
    std::string name;
    std::string description;
    std::string dataset;  // registry name of the evaluated data
    std::string split;
    int version = 1;
    bool norm = true;  // acc_norm / acc_bytes reported
    int default_shots = 0;
  };
  explicit ChoiceTask(Info info) : info_(std::move(info)) {}

  std::string name() const override { return info_.name; }
  int version() const override { return info_.version; }
  std::string description() const override { return info_.description; }
  std::string dataset() const override { return info_.dataset; }
  std::string split() const override { return info_.split; }
  int default_shots() const override { return info_.default_shots; }
  std::vector<MetricSpec> metrics() const override { return choice_metric_specs(info_.norm); }
  void load(const std::string& data_root) override;
  int64_t size() const override { return static_cast<int64_t>(docs_.size()); }
  std::vector<Request> requests(int64_t doc, const TaskSettings& settings) const override;
  DocMetrics process(int64_t doc, const std::vector<Response>& responses) const override;

  // The loaded document (for tests and the harness's sample rows).
  const ChoiceDoc& doc(int64_t i) const;

 protected:
  virtual void load_docs(const std::filesystem::path& data_root) = 0;
  // description + shots, everything that comes before doc_to_text(doc). The default: no description, shots drawn by
  // sample_fewshot from pool_ (or from docs_ themselves when pool_is_eval_).
  virtual std::string context_prefix(int64_t doc, const TaskSettings& settings) const;
  // One labelled example: doc_to_text + " " + doc_to_target.
  static std::string shot_text(const ChoiceDoc& d);
  void check_loaded() const;
  void check_doc(int64_t doc) const;

  Info info_;
  std::vector<ChoiceDoc> docs_;
  std::vector<ChoiceDoc> pool_;  // few-shot examples when they come from another split
  bool pool_is_eval_ = true;     // few-shot examples drawn from docs_ (the evaluated doc excluded)
  bool loaded_ = false;
};

}  // namespace supra::tasks
