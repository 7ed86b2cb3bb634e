// GEMM on the CPU through OpenBLAS. Weights stored in f16/bf16 are widened to fp32 one tile of rows at a time, so
// a bf16 7B model stays ~14 GB in memory and each tile is reused across all n rows of x.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "engine/cpu/cpu_ops.h"
#include "core/error.h"
#include "core/parallel_errors.h"

namespace supra::cpu {

namespace {

void widen(DType t, const void* src, float* dst, size_t count) {
#if defined(__F16C__)
  if (t == DType::F16) {
    const auto* s = static_cast<const uint16_t*>(src);
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
    for (; i < count; i++) dst[i] = f16_to_f32(s[i]);
    return;
  }
#endif
  convert_to_f32(t, src, dst, count);
}

}  // namespace

void matmul(const float* x, int64_t n, int64_t in, const Tensor& w, float* y, const float* bias) {
  const int64_t out = w.dim(0);
  if (w.dim(1) != in) fail("matmul: weight {} does not take inputs of width {}", w.shape_str(), in);
  if (w.dtype == DType::I32) fail("matmul: weight {} is i32, not a float dtype", w.shape_str());  // widen would throw
  if (w.dtype == DType::F32) {
    const float* W = w.ptr<float>();
    if (n == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(out), int(in), 1.f, W, int(in), x, 1, 0.f, y, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(out), int(in), 1.f, x, int(in), W, int(in),
                  0.f, y, int(out));
    }
  } else {
    // Tiles of output rows: widen W[r0:r1] to fp32, then one small GEMM per tile, tiles spread over threads.
    const int64_t tile = 64;
    const int64_t n_tiles = (out + tile - 1) / tile;
    const size_t esz = dtype_size(w.dtype);
    ParallelErrors errors;  // the tile buffers' allocation may throw
#pragma omp parallel if (double(n_tiles) * tile * in * (n + 1) > 1e6)
    {
      std::vector<float> buf;
      errors.guard([&] { buf.resize(size_t(tile * in)); });
      const bool ok = buf.size() == size_t(tile * in);
#pragma omp for schedule(static)
      for (int64_t t = 0; t < n_tiles; t++) {
        if (!ok) continue;
        const int64_t r0 = t * tile, rows = std::min(tile, out - r0);
        widen(w.dtype, static_cast<const char*>(w.data) + size_t(r0 * in) * esz, buf.data(), size_t(rows * in));
        if (n == 1) {
          cblas_sgemv(CblasRowMajor, CblasNoTrans, int(rows), int(in), 1.f, buf.data(), int(in), x, 1, 0.f,
                      y + r0, 1);
        } else {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(rows), int(in), 1.f, x, int(in),
                      buf.data(), int(in), 0.f, y + r0, int(out));
        }
      }
    }
    errors.rethrow();
  }
  if (bias) {
#pragma omp parallel for schedule(static) if (n * out > 65536)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < out; j++) y[i * out + j] += bias[j];
  }
}

}  // namespace supra::cpu
