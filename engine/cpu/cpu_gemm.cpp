// GEMM on the CPU through oneDNN's matmul primitive, on weights packed once.
//
// Threading and batch invariance (issue 17). Scores must not depend on which rows share a forward call, so a row
// of y must be bitwise the same whatever M is and wherever the row sits. Libraries choose kernels, K blocking and
// thread partitions (K split across threads, a gemv path for M=1) from the shape, which breaks that. So:
//  - We parallelise ourselves with OpenMP over tasks = (panel of kPanel output columns) x (block of kRowBlock
//    rows); each task calls a single-threaded oneDNN primitive (created with one OpenMP thread, run inside our
//    parallel region, where oneDNN runs sequentially). No K split; the partition depends on the shape of W only.
//  - A panel's weights are packed once, in the layout oneDNN's brgemm picks for a kRowBlock-row call; every row
//    count uses a primitive created for exactly that layout. oneDNN 2.6 cannot use packed weights with a runtime
//    M (it falls back to gemm:jit: ~20x slower here, and rows differ between M=1 and M>1), so there is one
//    primitive per (rows 1..kRowBlock, panel width, K, dtype), cached; a new one costs < 1 ms once.
//  - Each task writes a dense [rows, cols] tile and copies it into y: with a strided output 2.6's brgemm declines
//    and its reference kernel runs instead (slow).
//  - brgemm walks K in the same blocks for every row count, so each output is the same sum in the same order
//    (measured, not documented by oneDNN: tests/engine/test_cpu_gemm.cpp checks rows bitwise for M in 1..513,
//    f32 and bf16, fused and not, and whole forwards alone vs batched). The partition is independent of the
//    thread count too. A column's panel width does change its bits (~1e-7 relative): a fused weight's panels start
//    at each part's first column, so fused and unfused agree bitwise only where the parts are multiples of kPanel.
//  - Up to kFewRows rows (decode) run cpu_gemv.h on the same packed panels instead: a oneDNN call per panel costs
//    microseconds and allocates (its argument map), and decode makes ~60 per layer. That kernel reproduces
//    brgemm's sums bit for bit, K blocking included, which is probed per layout (probe_kblock); where it cannot
//    (another ISA or layout), those calls stay on oneDNN. Measured (85M model, 2 threads): decode 47.8 -> 64-71
//    tok/s f32, 56 -> 80-128 bf16.
// Without AVX-512 (oneDNN 2.6's brgemm needs it) oneDNN picks gemm:jit, whose rows do depend on M (measured with
// ONEDNN_MAX_CPU_ISA=AVX2): there every call is made with exactly kPadRows rows, the last block zero-padded
// (up to kPadRows-1 wasted rows per call). Measured so: bitwise invariant at K=768 but not at K=2048 (about a
// quarter of the rows differ): not solved, so a warning says so once. bf16 compute needs AVX-512 (an error).
// Cost, measured (2 threads, contended machine) against one oneDNN primitive threading itself over the whole
// packed weight: within about +-15% either way for f32 and bf16 at M = 1, 64, 512 (the noise of that machine).
// OpenBLAS is no longer used for the backend's matmuls: measured on 2 threads, oneDNN packed f32 matches sgemv at
// M=1 and beats sgemm at M >= 64 (bf16 ~2x more); cpu::matmul (cpu_matmul.cpp, OpenBLAS) stays as the plain
// reference the tests compare against.
#include "engine/cpu/cpu_gemm.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <sys/mman.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/parallel_errors.h"
#include "engine/cpu/cpu_gemv.h"

namespace supra::cpu {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

constexpr int64_t kPanel = 128;    // output columns per task: a 768 x 128 f32 panel (384 KiB) stays in L2
constexpr int64_t kRowBlock = 64;  // rows per task: large prefills give every thread work
constexpr int64_t kPadRows = 8;    // rows of every call where oneDNN has no brgemm (see above)
// Calls of at most this many rows (decode of up to 16 sequences) run cpu_gemv.h: measured on the 85M model, 2
// threads, as fast as brgemm at 8 and 16 rows and faster below (2 rows: 92-122 -> 167-170 tok/s), with no oneDNN
// call and no allocation.
constexpr int64_t kFewRows = 16;

// The engine and the caches below live as long as the process and are never destroyed: threads' memory objects
// and primitives outliving them at exit would crash in the static destructors.
dnnl::engine& cpu_engine() {
  static auto* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *e;
}

memory::data_type dt_of(DType t) { return t == DType::BF16 ? memory::data_type::bf16 : memory::data_type::f32; }

// oneDNN sizes its thread partition from omp_get_max_threads() at creation: create everything as for one thread.
template <class F>
auto as_one_thread(F f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  try {
    auto r = f();
    omp_set_num_threads(saved);
    return r;
  } catch (...) {
    omp_set_num_threads(saved);
    throw;
  }
}

struct Prim {
  dnnl::matmul prim;
  memory::desc src, dst, scratch;
};

constexpr size_t kTileFloats = size_t(kRowBlock * kPanel);

// Per-thread memory objects of one primitive (their data handles are set per call, so no allocation).
struct ThreadMems {
  memory src, dst, scratch;
  std::vector<char> scratch_buf;
};

// Per-thread stream and memory objects; OpenMP's pool threads live as long as the process.
struct ThreadState {
  dnnl::stream stream;
  std::unordered_map<const Prim*, ThreadMems> mems = {};
  std::vector<float> tile = std::vector<float>(kTileFloats);  // a task's dense output, copied out into y
  std::vector<char> padded = {};                              // a last block padded to kPadRows rows
};
ThreadState& thread_state() {
  thread_local ThreadState t{dnnl::stream(cpu_engine())};
  return t;
}

std::mutex g_mutex;
// (K, cols, dtype) -> the packed weight layout; (rows, K, cols, dtype) -> primitive.
struct Layout {
  memory::desc w;
  bool brgemm = false;  // oneDNN picked brgemm for it (else every call is padded to kPadRows rows)
  // brgemm's K blocking for this K, found by probe_kblock; 0 where cpu_gemv.h cannot reproduce brgemm here (decode
  // calls then stay on oneDNN).
  int64_t kblock = 0;
  int64_t block_stride = 0;  // elements between 64-column blocks of a panel (read by cpu_gemv.h)
};

// Whether oneDNN chose exactly what cpu_gemv.h reads and reproduces: brgemm at avx512_core (f32) or
// avx512_core_bf16 (bf16, vdpbf16ps) on "BA16a64b" / "BA16a64b2a", [K, cols] blocks of 16 (32) k by 64 columns.
// Anything else (another ISA, AMX, a new oneDNN with another layout) keeps decode calls on oneDNN.
bool gemv_reproduces(const dnnl::matmul::primitive_desc& pd, DType compute, int64_t K) {
  const bool bf16 = compute == DType::BF16;
  if (cpu_isa_supported() != CpuIsa::Avx512 || (bf16 && !cpu_features().avx512_bf16)) return false;
  if (std::string(pd.impl_info_str()) != (bf16 ? "brg:avx512_core_bf16" : "brg:avx512_core")) return false;
  const memory::desc w = pd.weights_desc();
  if (w.data.format_kind != dnnl_blocked || w.data.ndims != 2) return false;
  const auto& b = w.data.format_desc.blocking;
  const int64_t kb = bf16 ? 32 : 16, kp = (K + kb - 1) / kb * kb;
  if (b.inner_nblks != (bf16 ? 3 : 2) || b.inner_blks[0] != 16 || b.inner_idxs[0] != 0 || b.inner_blks[1] != 64 ||
      b.inner_idxs[1] != 1 || (bf16 && (b.inner_blks[2] != 2 || b.inner_idxs[2] != 0)))
    return false;
  return b.strides[0] == kb * 64 && b.strides[1] == kp * 64;
}

// brgemm's K block for this shape: the candidate whose cpu_gemv.h sums give oneDNN's bits on every column of a few
// random rows; 0 if none does (decode calls then stay on oneDNN). Run once per layout (a few ms).
int64_t probe_kblock(const dnnl::matmul::primitive_desc& pd, int64_t K, int64_t cols, DType compute) {
  const bool bf16 = compute == DType::BF16;
  const int64_t rows = pd.src_desc().dims()[0], probe_rows = std::min<int64_t>(rows, 4);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {  // uniform in [-1, 1): any values with varied exponents do
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return float(int64_t(state >> 40) - (int64_t(1) << 23)) / float(1 << 23);
  };
  std::vector<float> xf(size_t(rows * K)), wf(size_t(K * cols)), y(size_t(rows * cols));
  std::vector<float> mine(static_cast<size_t>(cols));
  for (float& v : xf) v = next();
  for (float& v : wf) v = next();
  std::vector<uint16_t> xb(xf.size()), wb(wf.size());
  if (bf16) {
    convert_from_f32(DType::BF16, xf.data(), xb.data(), xf.size());
    convert_from_f32(DType::BF16, wf.data(), wb.data(), wf.size());
  }
  void* xp = bf16 ? static_cast<void*>(xb.data()) : xf.data();
  void* wp = bf16 ? static_cast<void*>(wb.data()) : wf.data();
  dnnl::stream st(cpu_engine());
  memory wpacked(pd.weights_desc(), cpu_engine());
  memory wuser({{K, cols}, dt_of(compute), Tag::ab}, cpu_engine(), wp);
  dnnl::reorder(wuser, wpacked).execute(st, wuser, wpacked);
  std::vector<char> scratch(std::max<size_t>(pd.scratchpad_desc().get_size(), 1));
  memory src(pd.src_desc(), cpu_engine(), xp), dst(pd.dst_desc(), cpu_engine(), y.data()),
      sp(pd.scratchpad_desc(), cpu_engine(), scratch.data());
  as_one_thread([&] {
    dnnl::matmul(pd).execute(st, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wpacked}, {DNNL_ARG_DST, dst},
                                  {DNNL_ARG_SCRATCHPAD, sp}});
    st.wait();
    return 0;
  });
  const int64_t bstride = pd.weights_desc().data.format_desc.blocking.strides[1];
  std::vector<int64_t> candidates = {K};
  for (int64_t c = 4096; c >= 32; c /= 2)
    if (c < K) candidates.push_back(c);
  for (int64_t kb : candidates) {
    bool same = true;
    for (int64_t r = 0; r < probe_rows && same; r++) {
      const void* packed = wpacked.get_data_handle();
      if (bf16)
        gemv_rows_bf16_avx512(xb.data() + r * K, K, 1, K, kb, static_cast<const uint16_t*>(packed), bstride, cols,
                              nullptr, mine.data(), cols);
      else
        gemv_rows_f32_avx512(xf.data() + r * K, K, 1, K, kb, static_cast<const float*>(packed), bstride, cols, nullptr,
                             mine.data(), cols);
      same = std::memcmp(mine.data(), y.data() + r * cols, size_t(cols) * sizeof(float)) == 0;
    }
    if (same) return kb;
  }
  return 0;
}
auto& g_layouts = *new std::map<std::tuple<int64_t, int64_t, int>, Layout>;
auto& g_prims = *new std::map<std::tuple<int64_t, int64_t, int64_t, int>, std::unique_ptr<Prim>>;

// The output is a dense [rows, cols] tile: oneDNN 2.6's brgemm declines a strided one (it falls back to its slow
// reference kernel), so each task writes a tile and copies it into y.
dnnl::matmul::primitive_desc make_pd(int64_t rows, int64_t K, int64_t cols, DType compute, const memory::desc& wmd) {
  const memory::desc src({rows, K}, dt_of(compute), Tag::ab);
  const memory::desc dst({rows, cols}, memory::data_type::f32, Tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  try {
    return as_one_thread(
        [&] { return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wmd, dst), attr, cpu_engine()); });
  } catch (const dnnl::error& e) {
    fail("oneDNN has no {} matmul on this CPU ({}): {}", dtype_name(compute), e.what(),
         compute == DType::BF16 ? "bf16 compute needs AVX-512; use --cpu-dtype f32" : "unexpected");
  }
}

Layout layout_locked(int64_t K, int64_t cols, DType compute) {
  const auto key = std::make_tuple(K, cols, int(compute));
  auto it = g_layouts.find(key);
  if (it != g_layouts.end()) return it->second;
  const memory::desc any({K, cols}, dt_of(compute), Tag::any);
  const auto pd = make_pd(kRowBlock, K, cols, compute, any);
  const int64_t kblock = gemv_reproduces(pd, compute, K) ? probe_kblock(pd, K, cols, compute) : 0;
  const Layout l{pd.weights_desc(), std::string(pd.impl_info_str()).rfind("brg", 0) == 0, kblock,
                 int64_t(pd.weights_desc().data.format_desc.blocking.strides[1])};
  static bool warned = false;
  if (!l.brgemm && !warned) {
    warned = true;
    std::fprintf(stderr, "warning: oneDNN has no brgemm on this CPU (it chose '%s'): CPU matmul rows may differ in "
                 "their last bits with the batch they are computed in\n", pd.impl_info_str());
  }
  g_layouts.emplace(key, l);
  return l;
}

}  // namespace

bool gemm_batch_invariant() {
  static const bool yes = [] {
    std::lock_guard<std::mutex> lock(g_mutex);
    return layout_locked(256, 128, DType::F32).brgemm;
  }();
  return yes;
}

namespace {

const Prim& prim_for(int64_t rows, int64_t K, int64_t cols, DType compute) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const auto key = std::make_tuple(rows, K, cols, int(compute));
  auto it = g_prims.find(key);
  if (it != g_prims.end()) return *it->second;
  const Layout layout = layout_locked(K, cols, compute);
  const auto pd = make_pd(rows, K, cols, compute, layout.w);
  // Invariance without padding is shown for brgemm; say so once if oneDNN picked another kernel for one row count.
  static bool warned = false;
  if (layout.brgemm && std::string(pd.impl_info_str()).rfind("brg", 0) != 0 && !warned) {
    warned = true;
    std::fprintf(stderr, "warning: oneDNN chose '%s' for a %ldx%ldx%ld matmul, not brgemm: rows may not be bitwise "
                 "independent of their batch\n", pd.impl_info_str(), long(rows), long(K), long(cols));
  }
  auto p = std::make_unique<Prim>(Prim{dnnl::matmul(pd), pd.src_desc(), pd.dst_desc(), pd.scratchpad_desc()});
  return *g_prims.emplace(key, std::move(p)).first->second;
}

ThreadMems& mems_for(const Prim& p) {
  ThreadState& t = thread_state();
  auto it = t.mems.find(&p);
  if (it != t.mems.end()) return it->second;
  ThreadMems m;
  m.scratch_buf.resize(std::max<size_t>(p.scratch.get_size(), 1));
  m.src = memory(p.src, cpu_engine(), DNNL_MEMORY_NONE);
  m.dst = memory(p.dst, cpu_engine(), DNNL_MEMORY_NONE);
  m.scratch = memory(p.scratch, cpu_engine(), m.scratch_buf.data());
  return t.mems.emplace(&p, std::move(m)).first->second;
}

void run(const Prim& p, const void* x, const memory& w, float* tile) {
  ThreadMems& m = mems_for(p);
  m.src.set_data_handle(const_cast<void*>(x));
  m.dst.set_data_handle(tile);
  // The C call: no argument map to build per call.
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, m.src.get()},
                             {DNNL_ARG_WEIGHTS, w.get()},
                             {DNNL_ARG_DST, m.dst.get()},
                             {DNNL_ARG_SCRATCHPAD, m.scratch.get()}};
  const dnnl_status_t st = dnnl_primitive_execute(p.prim.get(), thread_state().stream.get(), 4, args);
  if (st != dnnl_success) fail("oneDNN matmul failed (status {})", int(st));
}

}  // namespace

struct PackedWeight {
  int64_t out = 0, in = 0;
  DType compute = DType::F32;
  std::vector<int64_t> parts;  // widths of the stacked weights (one output tensor each); they sum to out
  bool pad = false;            // no brgemm: every call has exactly kPadRows rows (the last block zero-padded)
  bool gemv = false;           // calls of up to kFewRows rows through cpu_gemv.h (every panel's layout allows it)
  struct Panel {
    int part = 0;
    int64_t col0 = 0, cols = 0;  // columns col0..col0+cols of its part
    memory w;                    // [in, cols] in oneDNN's packed layout, in `storage`
    const void* data = nullptr;  // w's buffer
    int64_t block_stride = 0, kblock = 0;  // for cpu_gemv.h
    // The primitive for a block of r rows (1..kRowBlock), found once.
    mutable std::array<std::atomic<const Prim*>, kRowBlock + 1> prim{};
  };
  std::vector<std::unique_ptr<Panel>> panels;
  std::unique_ptr<void, decltype(&std::free)> storage{nullptr, &std::free};  // every panel's packed weights

  // The bias of a panel's columns (the stacked weight's bias: parts before the panel's come first); null: none.
  const float* panel_bias(const Panel& p, const float* bias) const {
    if (!bias) return nullptr;
    const float* b = bias + p.col0;
    for (int i = 0; i < p.part; i++) b += parts[size_t(i)];
    return b;
  }

  const Prim& prim(const Panel& p, int64_t rows) const {
    const Prim* q = p.prim[size_t(rows)].load(std::memory_order_acquire);
    if (!q) {
      q = &prim_for(rows, in, p.cols, compute);
      p.prim[size_t(rows)].store(q, std::memory_order_release);
    }
    return *q;
  }
};

std::shared_ptr<const PackedWeight> pack_weight(const Tensor& w, DType compute, std::span<const int64_t> parts) {
  if (w.shape.size() != 2) fail("pack_weight: expected a matrix, got shape {}", w.shape_str());
  if (compute != DType::F32 && compute != DType::BF16)
    fail("pack_weight: CPU compute dtype must be f32 or bf16, got {}", dtype_name(compute));
  if (w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16)
    fail("pack_weight: weight {} is {}, not a float dtype", w.shape_str(), dtype_name(w.dtype));
  auto p = std::make_shared<PackedWeight>();
  p->out = w.dim(0);
  p->in = w.dim(1);
  p->compute = compute;
  p->parts.assign(parts.begin(), parts.end());
  if (p->parts.empty()) p->parts.push_back(p->out);
  int64_t total = 0;
  for (int64_t c : p->parts) {
    if (c <= 0) fail("pack_weight: part widths must be positive");
    total += c;
  }
  if (total != p->out) fail("pack_weight: parts sum to {}, the weight {} has {} rows", total, w.shape_str(), p->out);
  const int64_t K = p->in;
  const size_t esz = dtype_size(w.dtype);
  // Every panel in one buffer, on huge pages where it is large: decode streams it all once per token, and 4 KiB
  // pages cost TLB misses and stop the hardware prefetcher at every page.
  struct PanelAt {
    int part;
    int64_t c0, cols, row0;
    Layout l;
    size_t offset;
  };
  std::vector<PanelAt> at;
  size_t bytes = 0;
  for (size_t part = 0, row0 = 0; part < p->parts.size(); row0 += size_t(p->parts[part]), part++)
    for (int64_t c0 = 0; c0 < p->parts[part]; c0 += kPanel) {
      const int64_t cols = std::min(kPanel, p->parts[part] - c0);
      std::lock_guard<std::mutex> lock(g_mutex);
      const Layout l = layout_locked(K, cols, compute);
      at.push_back({int(part), c0, cols, int64_t(row0), l, bytes});
      bytes += (l.w.get_size() + 63) / 64 * 64;
    }
  const size_t huge = size_t(2) << 20;
  const size_t align = bytes >= huge ? huge : 64, alloc = std::max<size_t>((bytes + align - 1) / align * align, align);
  p->storage.reset(std::aligned_alloc(align, alloc));
  if (!p->storage) fail("pack_weight: out of memory packing a {} weight ({} MiB)", w.shape_str(), alloc >> 20);
#ifdef MADV_HUGEPAGE
  if (align == huge) madvise(p->storage.get(), alloc, MADV_HUGEPAGE);  // advice: without it, 4 KiB pages
#endif
  std::memset(p->storage.get(), 0, bytes);  // the layouts' padding (K to 16 or 32, columns to 64) must read 0
  std::vector<float> f32;
  std::vector<uint16_t> b16;
  dnnl::stream s(cpu_engine());
  p->gemv = true;
  for (const PanelAt& pa : at) {
    const int64_t cols = pa.cols, c0 = pa.c0, row0 = pa.row0;
    const Layout& l = pa.l;
    // Rows of W for this panel ([cols, K] row-major, i.e. [K, cols] in "ba") in the compute dtype.
    const void* src = static_cast<const char*>(w.data) + size_t((row0 + c0) * K) * esz;
    const size_t count = size_t(cols * K);
    void* plain = const_cast<void*>(src);
    if (w.dtype != compute) {
      f32.resize(count);
      convert_to_f32(w.dtype, src, f32.data(), count);
      plain = f32.data();
      if (compute == DType::BF16) {
        b16.resize(count);
        convert_from_f32(DType::BF16, f32.data(), b16.data(), count);
        plain = b16.data();
      }
    }
    p->pad = !l.brgemm;
    p->gemv = p->gemv && l.kblock > 0;
    auto panel = std::make_unique<PackedWeight::Panel>();
    panel->part = pa.part;
    panel->col0 = c0;
    panel->cols = cols;
    char* buf = static_cast<char*>(p->storage.get()) + pa.offset;
    panel->data = buf;
    panel->w = memory(l.w, cpu_engine(), buf);
    panel->block_stride = l.block_stride;
    panel->kblock = l.kblock;
    memory user({{K, cols}, dt_of(compute), Tag::ba}, cpu_engine(), plain);
    dnnl::reorder(user, panel->w).execute(s, user, panel->w);
    s.wait();
    p->panels.push_back(std::move(panel));
  }
  return p;
}

bool packed_decode_kernel(const PackedWeight& w) { return w.gemv && cpu_isa() == CpuIsa::Avx512; }
int64_t packed_out(const PackedWeight& w) { return w.out; }
int64_t packed_in(const PackedWeight& w) { return w.in; }
DType packed_compute(const PackedWeight& w) { return w.compute; }
const std::vector<int64_t>& packed_parts(const PackedWeight& w) { return w.parts; }

void packed_matmul(const float* x, int64_t n, const PackedWeight& w, std::span<float* const> ys, const float* bias) {
  if (n <= 0) return;
  if (ys.size() != w.parts.size())
    fail("packed_matmul: {} outputs for a weight stacked from {} parts", ys.size(), w.parts.size());
  const int64_t K = w.in;
  const void* xin = x;
  if (w.compute == DType::BF16) {
    // Activations rounded to bf16 once per call, into a buffer that only grows.
    thread_local std::vector<uint16_t> xb;
    if (xb.size() < size_t(n * K)) xb.resize(size_t(n * K));
    uint16_t* d = xb.data();
#pragma omp parallel for schedule(static) if (n * K > 65536)
    for (int64_t r = 0; r < n; r++)
      for (int64_t i = 0; i < K; i++) d[r * K + i] = f32_to_bf16(x[r * K + i]);
    xin = d;
  }
  const int64_t n_panels = int64_t(w.panels.size());
  if (n <= kFewRows && packed_decode_kernel(w)) {
    // Decode (one row per sequence): no oneDNN call (cpu_gemv.h); the same panels per thread as below.
#pragma omp parallel for schedule(static) if (n_panels > 1)
    for (int64_t t = 0; t < n_panels; t++) {
      const PackedWeight::Panel& panel = *w.panels[size_t(t)];
      const int64_t ldy = w.parts[size_t(panel.part)];
      float* y = ys[size_t(panel.part)] + panel.col0;
      const float* b = w.panel_bias(panel, bias);
      if (w.compute == DType::BF16)
        gemv_rows_bf16_avx512(static_cast<const uint16_t*>(xin), K, n, K, panel.kblock,
                              static_cast<const uint16_t*>(panel.data), panel.block_stride, panel.cols, b, y, ldy);
      else
        gemv_rows_f32_avx512(x, K, n, K, panel.kblock, static_cast<const float*>(panel.data), panel.block_stride,
                             panel.cols, b, y, ldy);
    }
    return;
  }
  const size_t esz = w.compute == DType::BF16 ? 2 : 4;
  const int64_t block = w.pad ? kPadRows : kRowBlock;
  const int64_t n_blocks = (n + block - 1) / block;
  const int64_t tasks = n_blocks * n_panels;
  ParallelErrors errors;
  // Panel-major: a thread's consecutive tasks share a panel, which stays in its cache.
#pragma omp parallel for schedule(static) if (tasks > 1)
  for (int64_t t = 0; t < tasks; t++) {
    errors.guard([&] {
      const PackedWeight::Panel& panel = *w.panels[size_t(t / n_blocks)];
      const int64_t r0 = (t % n_blocks) * block, rows = std::min(block, n - r0);
      const int64_t ldy = w.parts[size_t(panel.part)];
      ThreadState& ts = thread_state();
      const char* src_rows = static_cast<const char*>(xin) + size_t(r0 * K) * esz;
      if (w.pad && rows < block) {
        // The last rows, zero-padded to a full block in a buffer that only grows.
        if (ts.padded.size() < size_t(block * K) * esz) ts.padded.resize(size_t(block * K) * esz);
        std::memcpy(ts.padded.data(), src_rows, size_t(rows * K) * esz);
        std::memset(ts.padded.data() + size_t(rows * K) * esz, 0, size_t((block - rows) * K) * esz);
        src_rows = ts.padded.data();
      }
      float* tile = ts.tile.data();
      run(w.prim(panel, w.pad ? block : rows), src_rows, panel.w, tile);
      float* yt = ys[size_t(panel.part)] + r0 * ldy + panel.col0;
      const float* b = w.panel_bias(panel, bias);
      for (int64_t r = 0; r < rows; r++) {
        const float* src = tile + r * panel.cols;
        float* dst = yt + r * ldy;
        if (b)
          for (int64_t j = 0; j < panel.cols; j++) dst[j] = src[j] + b[j];
        else
          std::memcpy(dst, src, size_t(panel.cols) * sizeof(float));
      }
    });
  }
  errors.rethrow();
}

}  // namespace supra::cpu
