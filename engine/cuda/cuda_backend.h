#pragma once
// What the CUDA backend offers beyond the Backend interface: device facts and peak memory for `bench`, and the
// switch for CUDA graphs. Only in builds with CUDA (SUPRA_WITH_CUDA); callers guard their includes with it.
//
// CUDA graphs. With graphs on (the default; SUPRA_CUDA_GRAPHS=0 turns them off), ops are recorded instead of
// launched and run as one segment at the next synchronisation point: to_host, synchronize, or the first
// from_host after compute (which is where a new forward begins). A segment is identified by its exact sequence of
// launches (kernel arguments, cuBLAS calls, copies). The first time a segment is seen it runs eagerly; the second
// time it is captured into a CUDA graph; every later time the graph is replayed with one launch. A decode step
// repeats the same launches (the workspace, weights and state do not move; n_past is read on the device; the
// host-to-device staging alternates between two fixed buffers), so from the third step on each step is one graph
// launch. One-off shapes (scoring batches) never pay for instantiation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/backend.h"

namespace supra::cuda {

struct DeviceInfo {
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t total_bytes = 0;
  size_t free_bytes = 0;  // after releasing the backend's unused cached blocks
};

struct GraphStats {
  int64_t eager_segments = 0;  // segments run op by op
  int64_t captures = 0;        // graphs instantiated
  int64_t replays = 0;         // graph launches of a cached graph
};

// True for a backend made by make_cuda_backend.
bool is_cuda_backend(const Backend& b);
// The following throw supra::Error when `b` is not a CUDA backend.
DeviceInfo device_info(Backend& b);
// Peak bytes of device memory the backend held allocated (weights, activations, states, scratch) since it was made
// or since reset_peak_memory; excludes the CUDA context and cuBLAS' own kernels.
size_t peak_memory(Backend& b);
void reset_peak_memory(Backend& b);
void set_graphs(Backend& b, bool on);
bool graphs_enabled(Backend& b);
GraphStats graph_stats(Backend& b);

// The kernel of chunked SUPRA prefill (SupraForm::Chunked). Auto, the default: bf16 tensor cores (fp32 accumulation
// and state) when the backend's weights are 16-bit, fp32 on CUDA cores with f32 weights (held to the CPU at fp32
// precision). Fp32 is the reference path; tests and scripts/gpu-check.sh's kernel benchmark pick one. Tensor cores
// need a head dim that is a multiple of 16 and kernels that fit the device; elsewhere the fp32 kernel runs.
enum class SupraKernel { Auto, Fp32, TensorCores };
void set_supra_kernel(Backend& b, SupraKernel k);
// What a chunked prefill of head dim `head_dim` runs on `b` now (Fp32 or TensorCores, never Auto).
SupraKernel supra_kernel_for(Backend& b, int head_dim);
const char* supra_kernel_name(SupraKernel k);

}  // namespace supra::cuda
