#pragma once
// The canonical weight set every loader maps its names onto. Linear weights are [out, in] row-major in their
// stored dtype; norms and biases are vectors. Tensors may live on the host (mmapped) or on a device.
#include <vector>

#include "engine/tensor.h"

namespace supra {

struct LayerWeights {
  Tensor attn_norm;  // [D]
  Tensor wq;         // [H*d, D]
  Tensor wk;         // [Hkv*d, D]
  Tensor wv;         // [Hkv*d, D]
  Tensor wo;         // [D, H*d]
  Tensor ffn_norm;   // [D]
  Tensor w_gate;     // [F, D]
  Tensor w_up;       // [F, D]
  Tensor w_down;     // [D, F]
  // SUPRA feature map phi (absent in softmax mode).
  Tensor phi_q_w;  // Aq [H*d, H*d]
  Tensor phi_q_b;  // bq [H*d]
  Tensor phi_k_w;  // Ak [Hkv*d, Hkv*d], only when H != Hkv (else k uses Aq, bq)
  Tensor phi_k_b;  // bk [Hkv*d]
};

struct ModelWeights {
  Tensor tok_embeddings;  // [V, D]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [D]
  Tensor output;      // [V, D]; the same storage as tok_embeddings when tied
};

}  // namespace supra
