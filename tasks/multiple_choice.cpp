#include "tasks/multiple_choice.h"

#include <cmath>

#include "core/error.h"
#include "tasks/fewshot.h"
#include "tasks/text_util.h"

namespace supra::tasks {

size_t np_argmax(const std::vector<double>& xs) {
  if (xs.empty()) fail("argmax of an empty list");
  size_t best = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::isnan(xs[i])) return i;
    if (xs[i] > xs[best]) best = i;
  }
  return best;
}

std::vector<MetricSpec> choice_metric_specs(bool norm) {
  std::vector<MetricSpec> out = {{"acc", Aggregation::Mean, true}};
  if (norm) {
    out.push_back({"acc_norm", Aggregation::Mean, true});
    out.push_back({"acc_bytes", Aggregation::Mean, true});
  }
  return out;
}

DocMetrics choice_metrics(const std::string& task, int64_t doc, const std::vector<Response>& responses,
                          const std::vector<std::string>& choices, int gold, bool norm) {
  if (responses.size() != choices.size())
    fail("task {}, doc {}: {} responses for {} choices", task, doc, responses.size(), choices.size());
  std::vector<double> ll, per_char, per_byte;
  for (size_t i = 0; i < choices.size(); ++i) {
    ll.push_back(responses[i].logprob);
    per_char.push_back(responses[i].logprob / static_cast<double>(py_len(choices[i])));
    per_byte.push_back(responses[i].logprob / static_cast<double>(choices[i].size()));
  }
  auto hit = [&](const std::vector<double>& xs) { return MetricValue{np_argmax(xs) == size_t(gold) ? 1.0 : 0.0, 1}; };
  DocMetrics m;
  m["acc"] = hit(ll);
  if (norm) {
    m["acc_norm"] = hit(per_char);
    m["acc_bytes"] = hit(per_byte);
  }
  return m;
}

void ChoiceTask::load(const std::string& data_root) {
  docs_.clear();
  pool_.clear();
  load_docs(data_root);
  auto check = [&](const std::vector<ChoiceDoc>& docs, const char* what) {
    for (size_t i = 0; i < docs.size(); ++i) {
      const ChoiceDoc& d = docs[i];
      if (d.choices.size() < 2) fail("task {}: {} doc {} has {} choices", info_.name, what, i, d.choices.size());
      if (d.gold < 0 || size_t(d.gold) >= d.choices.size())
        fail("task {}: {} doc {} has gold {} outside its {} choices", info_.name, what, i, d.gold, d.choices.size());
      for (size_t c = 0; c < d.choices.size(); ++c)
        if (d.choices[c].empty())  // acc_norm would divide by a zero length
          fail("task {}: {} doc {} has an empty choice {}", info_.name, what, i, c);
    }
  };
  check(docs_, "evaluated");
  check(pool_, "few-shot");
  loaded_ = true;
}

void ChoiceTask::check_loaded() const {
  if (!loaded_) fail("task {}: load() must be called before its documents are used", info_.name);
}

void ChoiceTask::check_doc(int64_t doc) const {
  check_loaded();
  if (doc < 0 || doc >= size()) fail("task {}: doc {} is outside 0..{}", info_.name, doc, size() - 1);
}

const ChoiceDoc& ChoiceTask::doc(int64_t i) const {
  check_doc(i);
  return docs_[size_t(i)];
}

std::string ChoiceTask::shot_text(const ChoiceDoc& d) {
  return d.text + kTargetDelimiter + d.choices[size_t(d.gold)];
}

std::string ChoiceTask::context_prefix(int64_t doc, const TaskSettings& settings) const {
  const std::vector<ChoiceDoc>& pool = pool_is_eval_ ? docs_ : pool_;
  std::vector<std::string> shots;
  for (int64_t i : sample_fewshot(info_.name, static_cast<int64_t>(pool.size()), pool_is_eval_, doc, settings.shots,
                                  settings.fewshot_seed))
    shots.push_back(shot_text(pool[size_t(i)]));
  return fewshot_prefix("", shots);
}

std::vector<Request> ChoiceTask::requests(int64_t doc, const TaskSettings& settings) const {
  check_doc(doc);
  const ChoiceDoc& d = docs_[size_t(doc)];
  const std::string context = context_prefix(doc, settings) + d.text;
  std::vector<Request> out;
  for (const std::string& choice : d.choices) {
    Request r;
    r.type = RequestType::Loglikelihood;
    r.context = context;
    r.continuation = kTargetDelimiter + choice;
    out.push_back(std::move(r));
  }
  return out;
}

DocMetrics ChoiceTask::process(int64_t doc, const std::vector<Response>& responses) const {
  check_doc(doc);
  const ChoiceDoc& d = docs_[size_t(doc)];
  return choice_metrics(info_.name, doc, responses, d.choices, d.gold, info_.norm);
}

}  // namespace supra::tasks
