#include "harness/completions_server.h"

#include <atomic>
#include <chrono>
#include <set>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace supra {

using nlohmann::json;

namespace {

// A request the server refuses: the HTTP status, the OpenAI error type, the field at fault and the message.
struct HttpError {
  int status;
  std::string type, param, message;
};

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw HttpError{400, "invalid_request_error", param, message};
}

void send_error(httplib::Response& res, int status, const std::string& type, const std::string& param,
                const std::string& message) {
  res.status = status;
  json err = {{"message", message}, {"type", type}, {"code", status}};
  err["param"] = param.empty() ? json(nullptr) : json(param);
  res.set_content(json{{"error", err}}.dump(), "application/json");
}

json parse_body(const httplib::Request& req) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    bad("", fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  return body;
}

void refuse_unknown(const json& body, const std::set<std::string>& known) {
  for (const auto& [k, v] : body.items())
    if (!known.count(k)) {
      std::string names;
      for (const auto& n : known) names += (names.empty() ? "" : ", ") + n;
      bad(k, fmt::format("unknown field \"{}\" (this server reads: {})", k, names));
    }
}

int64_t get_int(const json& body, const std::string& key, int64_t dflt, int64_t lo, int64_t hi) {
  if (!body.contains(key) || body[key].is_null()) return dflt;
  const json& v = body[key];
  if (!v.is_number_integer()) bad(key, fmt::format("\"{}\" must be an integer, got {}", key, v.dump()));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(key, fmt::format("\"{}\" must lie in [{}, {}], got {}", key, lo, hi, x));
  return x;
}

double get_number(const json& body, const std::string& key, double dflt, double lo, double hi) {
  if (!body.contains(key) || body[key].is_null()) return dflt;
  const json& v = body[key];
  if (!v.is_number()) bad(key, fmt::format("\"{}\" must be a number, got {}", key, v.dump()));
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) bad(key, fmt::format("\"{}\" must lie in [{}, {}], got {}", key, lo, hi, x));
  return x;
}

bool get_bool(const json& body, const std::string& key, bool dflt) {
  if (!body.contains(key) || body[key].is_null()) return dflt;
  if (!body[key].is_boolean()) bad(key, fmt::format("\"{}\" must be true or false, got {}", key, body[key].dump()));
  return body[key].get<bool>();
}

// The fields of the OpenAI completions request; the ones marked unsupported must keep their neutral value.
const std::set<std::string> kCompletionFields = {
    "model",     "prompt", "max_tokens",       "temperature",       "top_p", "top_k", "n",
    "stream",    "logprobs", "echo",           "stop",              "seed",  "presence_penalty",
    "frequency_penalty", "best_of", "logit_bias", "user",           "suffix"};

}  // namespace

struct CompletionsServer::Impl {
  CompletionEngine& engine;
  const Tokenizer* tok;
  int vocab;
  ServeOptions opts;
  httplib::Server svr;
  std::atomic<int64_t> next_id{0};

  Impl(CompletionEngine& e, const Tokenizer* t, int v, ServeOptions o) : engine(e), tok(t), vocab(v), opts(std::move(o)) {}

  // A token's text as the top_logprobs keys and "tokens" show it: the piece with sentencepiece's word marker as a
  // space, or the id when there is no tokenizer.
  std::string token_text(int32_t id) const {
    if (!tok) return std::to_string(id);
    const std::string s = tok->piece(id);
    const std::string_view marker = "\xE2\x96\x81";
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, marker.size(), marker) == 0) {
        out += ' ';
        i += marker.size();
      } else {
        out += s[i++];
      }
    }
    return out;
  }

  // With echo, the prompt's text followed by the generated text, decoded together (decoding the generated tokens
  // alone drops the space their first piece starts with), still cut before the first stop string.
  std::string echoed_text(const CompletionJob& job, const CompletionOutput& o) const {
    if (!tok) return o.text;
    const std::string prompt = tok->decode(job.prompt);
    std::vector<int32_t> all = job.prompt;
    all.insert(all.end(), o.generated.begin(), o.generated.end());
    const std::string full = tok->decode(all);
    if (full.compare(0, prompt.size(), prompt) != 0) return prompt + o.text;
    std::string tail = full.substr(prompt.size());
    size_t cut = std::string::npos;
    for (const auto& s : job.stop)
      if (!s.empty()) cut = std::min(cut, tail.find(s));
    if (cut != std::string::npos) tail.resize(cut);
    return prompt + tail;
  }

  std::vector<int32_t> check_ids(const json& ids, const std::string& where) const {
    std::vector<int32_t> out;
    for (size_t j = 0; j < ids.size(); j++) {
      const json& v = ids[j];
      if (!v.is_number_integer())
        bad("prompt", fmt::format("{}[{}]: a token id must be an integer, got {}", where, j, v.dump()));
      const int64_t id = v.get<int64_t>();
      if (id < 0 || id >= vocab)
        bad("prompt", fmt::format("{}[{}]: token id {} is outside the vocabulary [0, {})", where, j, id, vocab));
      out.push_back(int32_t(id));
    }
    return out;
  }

  std::vector<int32_t> encode_text(const std::string& text, bool add_bos, const std::string& param) const {
    if (!tok) bad(param, "this model has no tokenizer: send token ids instead of text");
    std::vector<int32_t> ids;
    if (add_bos && tok->bos_id() >= 0) ids.push_back(tok->bos_id());
    // BOS/EOS written as text ("</s>") are those tokens, as HF tokenizers read them: lm-eval's remote tokenizer
    // finds the EOS id by tokenizing the eos_token string of /tokenizer_info.
    std::vector<std::pair<std::string, int32_t>> specials;
    for (const int id : {tok->bos_id(), tok->eos_id()})
      if (id >= 0 && !tok->piece(id).empty()) specials.emplace_back(tok->piece(id), int32_t(id));
    size_t at = 0;
    while (at <= text.size()) {
      size_t next = std::string::npos;
      int32_t special = -1;
      size_t special_len = 0;
      for (const auto& [str, id] : specials) {
        const size_t f = text.find(str, at);
        if (f < next) next = f, special = id, special_len = str.size();
      }
      const std::string part = text.substr(at, next == std::string::npos ? std::string::npos : next - at);
      if (!part.empty()) {
        const auto t = tok->encode(part);
        ids.insert(ids.end(), t.begin(), t.end());
      }
      if (next == std::string::npos) break;
      ids.push_back(special);
      at = next + special_len;
    }
    return ids;
  }

  // prompt: a string, a list of strings, a list of token ids, or a list of token-id lists.
  std::vector<std::vector<int32_t>> prompts(const json& body) const {
    if (!body.contains("prompt")) bad("prompt", "\"prompt\" is required");
    const json& p = body["prompt"];
    std::vector<std::vector<int32_t>> out;
    if (p.is_string()) {
      out.push_back(encode_text(p.get<std::string>(), true, "prompt"));
    } else if (p.is_array() && !p.empty() && p[0].is_number()) {
      out.push_back(check_ids(p, "prompt"));
    } else if (p.is_array() && !p.empty()) {
      for (size_t i = 0; i < p.size(); i++) {
        const std::string where = fmt::format("prompt[{}]", i);
        if (p[i].is_string())
          out.push_back(encode_text(p[i].get<std::string>(), true, "prompt"));
        else if (p[i].is_array())
          out.push_back(check_ids(p[i], where));
        else
          bad("prompt", fmt::format("{} must be a string or a list of token ids, got {}", where, p[i].dump()));
      }
    } else {
      bad("prompt", "\"prompt\" must be a string, a list of strings, a list of token ids or a list of token-id "
                    "lists (non-empty)");
    }
    for (size_t i = 0; i < out.size(); i++)
      if (out[i].empty()) bad("prompt", fmt::format("prompt {} has no tokens", i));
    return out;
  }

  void check_model(const json& body) const {
    if (!body.contains("model") || body["model"].is_null()) return;
    if (!body["model"].is_string()) bad("model", "\"model\" must be a string");
    if (body["model"].get<std::string>() != opts.model_name)
      throw HttpError{404, "not_found_error", "model",
                      fmt::format("model \"{}\" is not served here; this server serves \"{}\"",
                                  body["model"].get<std::string>(), opts.model_name)};
  }

  json completions(const json& body) {
    refuse_unknown(body, kCompletionFields);
    check_model(body);
    get_int(body, "n", 1, 1, 1);  // one choice per prompt
    get_int(body, "best_of", 1, 1, 1);
    if (get_bool(body, "stream", false)) bad("stream", "streaming is not supported: send \"stream\": false");
    get_number(body, "presence_penalty", 0, 0, 0);
    get_number(body, "frequency_penalty", 0, 0, 0);
    if (body.contains("logit_bias") && !body["logit_bias"].is_null() && !body["logit_bias"].empty())
      bad("logit_bias", "\"logit_bias\" is not supported");
    if (body.contains("suffix") && !body["suffix"].is_null() &&
        !(body["suffix"].is_string() && body["suffix"].get<std::string>().empty()))
      bad("suffix", "\"suffix\" is not supported");
    if (body.contains("user") && !body["user"].is_null() && !body["user"].is_string())
      bad("user", "\"user\" must be a string");

    const int64_t ctx = engine.options().ctx;
    CompletionJob base;
    base.echo = get_bool(body, "echo", false);
    base.max_tokens = int(get_int(body, "max_tokens", 16, 0, ctx));
    if (base.max_tokens == 0 && !base.echo) bad("max_tokens", "\"max_tokens\" 0 asks for nothing unless \"echo\" is true");
    base.temperature = get_number(body, "temperature", 1.0, 0.0, 100.0);
    base.top_p = get_number(body, "top_p", 1.0, 1e-9, 1.0);
    base.top_k = int(get_int(body, "top_k", 0, -1, vocab));
    if (base.top_k < 0) base.top_k = 0;
    base.logprobs = int(get_int(body, "logprobs", -1, 0, engine.options().max_logprobs));
    if (body.contains("seed") && !body["seed"].is_null()) {
      if (!body["seed"].is_number_integer()) bad("seed", "\"seed\" must be an integer");
      base.seed = uint64_t(body["seed"].get<int64_t>());
    }
    if (body.contains("stop") && !body["stop"].is_null()) {
      const json& s = body["stop"];
      if (s.is_string()) {
        base.stop.push_back(s.get<std::string>());
      } else if (s.is_array()) {
        for (const json& x : s) {
          if (!x.is_string()) bad("stop", fmt::format("\"stop\" entries must be strings, got {}", x.dump()));
          base.stop.push_back(x.get<std::string>());
        }
      } else {
        bad("stop", "\"stop\" must be a string or a list of strings");
      }
      if (!base.stop.empty() && !tok) bad("stop", "stop strings need a tokenizer, and this model has none");
    }

    std::vector<CompletionJob> jobs;
    int64_t prompt_tokens = 0;
    const auto ps = prompts(body);
    for (size_t i = 0; i < ps.size(); i++) {
      const int64_t n = int64_t(ps[i].size());
      // The model sees the prompt and every generated token but the last (which is never fed back).
      const int64_t positions = n + std::max(base.max_tokens - 1, 0);
      if (positions > ctx)
        bad("prompt", fmt::format("prompt {} has {} tokens; with max_tokens {} the model must see {} positions, but "
                                  "the context length is {} (truncate it, e.g. lm-eval's max_length, or serve with a "
                                  "larger --ctx)",
                                  i, n, base.max_tokens, positions, ctx));
      CompletionJob j = base;
      j.prompt = ps[i];
      prompt_tokens += n;
      jobs.push_back(std::move(j));
    }

    auto outs = engine.submit(jobs).get();  // an engine error reaches the handler's catch as 500

    json choices = json::array();
    int64_t completion_tokens = 0;
    for (size_t i = 0; i < outs.size(); i++) {
      const CompletionJob& job = jobs[i];
      const CompletionOutput& o = outs[i];
      completion_tokens += int64_t(o.generated.size());
      json choice = {{"index", i}, {"finish_reason", o.finish_reason}};
      choice["text"] = job.echo ? echoed_text(job, o) : o.text;
      if (job.logprobs < 0) {
        choice["logprobs"] = nullptr;
      } else {
        json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
        size_t offset = 0;
        auto add = [&](int32_t id, const TokenScore* s) {
          const std::string t = token_text(id);
          tokens.push_back(t);
          offsets.push_back(offset);
          offset += t.size();
          if (!s) {
            lps.push_back(nullptr);
            tops.push_back(nullptr);
            return;
          }
          lps.push_back(double(s->logprob));
          json top = json::object();
          // Highest first: when two tokens print the same, the key keeps the higher value (lm-eval takes the max).
          for (const auto& [tid, lp] : s->top) {
            const std::string key = token_text(tid);
            if (!top.contains(key)) top[key] = double(lp);
          }
          tops.push_back(top);
        };
        if (job.echo)
          for (size_t t = 0; t < job.prompt.size(); t++) add(job.prompt[t], t == 0 ? nullptr : &o.prompt_scores[t]);
        for (size_t t = 0; t < o.generated.size(); t++) add(o.generated[t], &o.generated_scores[t]);
        choice["logprobs"] = {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops},
                              {"text_offset", offsets}};
      }
      choices.push_back(choice);
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    return {{"id", fmt::format("cmpl-{}", next_id++)},
            {"object", "text_completion"},
            {"created", now},
            {"model", opts.model_name},
            {"choices", choices},
            {"usage",
             {{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens}}}};
  }

  json tokenize(const json& body) const {
    refuse_unknown(body, {"model", "prompt", "add_special_tokens"});
    check_model(body);
    if (!body.contains("prompt") || !body["prompt"].is_string()) bad("prompt", "\"prompt\" must be a string");
    const auto ids = encode_text(body["prompt"].get<std::string>(), get_bool(body, "add_special_tokens", true), "prompt");
    return {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", engine.options().ctx}};
  }

  json detokenize(const json& body) const {
    refuse_unknown(body, {"model", "tokens"});
    check_model(body);
    if (!tok) bad("tokens", "this model has no tokenizer");
    if (!body.contains("tokens") || !body["tokens"].is_array()) bad("tokens", "\"tokens\" must be a list of token ids");
    std::vector<int32_t> ids;
    for (size_t j = 0; j < body["tokens"].size(); j++) {
      const json& v = body["tokens"][j];
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab)
        bad("tokens", fmt::format("tokens[{}]: {} is not a token id in [0, {})", j, v.dump(), vocab));
      ids.push_back(int32_t(v.get<int64_t>()));
    }
    return {{"prompt", tok->decode(ids)}};
  }

  json tokenizer_info() const {
    if (!tok) throw HttpError{404, "not_found_error", "", "this model has no tokenizer"};
    auto piece_or_null = [&](int id) { return id >= 0 ? json(tok->piece(id)) : json(nullptr); };
    return {{"eos_token", piece_or_null(tok->eos_id())},
            {"bos_token", piece_or_null(tok->bos_id())},
            {"eos_token_id", tok->eos_id()},
            {"bos_token_id", tok->bos_id()},
            {"pad_token", nullptr},
            {"tokenizer_class", tok->kind()},
            {"vocab_size", tok->vocab_size()},
            {"model_max_length", engine.options().ctx}};
  }

  // A JSON handler: the reply, or the error it threw as a JSON error.
  template <class F>
  httplib::Server::Handler handler(F f) {
    return [f](const httplib::Request& req, httplib::Response& res) {
      try {
        // Generated text may end inside a multi-byte character (max_tokens cut it): replaced, never a 500.
        res.set_content(f(req).dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
      } catch (const HttpError& e) {
        send_error(res, e.status, e.type, e.param, e.message);
      } catch (const std::exception& e) {
        send_error(res, 500, "server_error", "", fmt::format("the engine failed: {}", e.what()));
      }
    };
  }

  void routes() {
    // Liveness, and what the engine has done (the prefix cache's share of the prompt tokens).
    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      const auto st = engine.stats();
      res.set_content(json{{"status", "ok"},
                           {"requests", st.requests},
                           {"prompts", st.prompts},
                           {"rounds", st.rounds},
                           {"fed_tokens", st.fed_tokens},
                           {"cached_tokens", st.cached_tokens},
                           {"cache_bytes", st.cache_bytes},
                           {"cache_entries", st.cache_entries}}
                          .dump(),
                      "application/json");
    });
    svr.Get("/v1/models", handler([this](const httplib::Request&) {
      json m = {{"id", opts.model_name}, {"object", "model"}, {"owned_by", "supra-eval"},
                {"max_model_len", engine.options().ctx}};
      return json{{"object", "list"}, {"data", json::array({m})}};
    }));
    for (const std::string prefix : {"", "/v1"}) {
      svr.Post(prefix + "/completions", handler([this](const httplib::Request& r) { return completions(parse_body(r)); }));
      svr.Get(prefix + "/tokenizer_info", handler([this](const httplib::Request&) { return tokenizer_info(); }));
      svr.Post(prefix + "/tokenize", handler([this](const httplib::Request& r) { return tokenize(parse_body(r)); }));
      svr.Post(prefix + "/detokenize", handler([this](const httplib::Request& r) { return detokenize(parse_body(r)); }));
    }
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (opts.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + opts.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, 401, "authentication_error", "",
                 "missing or wrong API key: send the header \"Authorization: Bearer <key>\" with the server's --api-key");
      return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses httplib sets itself (no route, body too large, malformed HTTP) get a JSON body too.
    svr.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404)
        send_error(res, 404, "not_found_error", "", fmt::format("no endpoint {} {}", req.method, req.path));
      else if (res.status == 413)
        send_error(res, 413, "invalid_request_error", "",
                   fmt::format("the request body is larger than the server's limit of {} bytes", opts.max_payload));
      else
        send_error(res, res.status, "invalid_request_error", "", fmt::format("HTTP status {}", res.status));
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, 500, "server_error", "", what);
    });
    svr.set_payload_max_length(opts.max_payload);
    svr.set_keep_alive_max_count(1000);
    svr.set_keep_alive_timeout(30);
    svr.set_read_timeout(60);
    svr.set_write_timeout(60);
    const int n = std::max(1, opts.http_threads);
    svr.new_task_queue = [n] { return new httplib::ThreadPool(size_t(n)); };
  }
};

CompletionsServer::CompletionsServer(CompletionEngine& engine, const Tokenizer* tok, int vocab_size, ServeOptions opts)
    : impl_(std::make_unique<Impl>(engine, tok, vocab_size, std::move(opts))) {
  impl_->routes();
}

CompletionsServer::~CompletionsServer() = default;

int CompletionsServer::bind() {
  const auto& o = impl_->opts;
  int port = o.port;
  if (port == 0) {
    port = impl_->svr.bind_to_any_port(o.host);
    if (port < 0) fail("serve: cannot bind any port on {}", o.host);
  } else if (!impl_->svr.bind_to_port(o.host, port)) {
    fail("serve: cannot bind {}:{} (in use, or not an address of this machine)", o.host, port);
  }
  return port;
}

void CompletionsServer::listen() {
  if (!impl_->svr.listen_after_bind()) fail("serve: the server stopped with an error");
}

void CompletionsServer::stop() { impl_->svr.stop(); }

}  // namespace supra
