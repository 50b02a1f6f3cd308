// 8-bit RGB frames <-> model tensors, bit for bit as edgederain/runtime/preprocess.py:
//   frames_to_tensor:  x.astype(np.float32) / 255.0            (float32 division)
//   from_model_output: np.rint(np.clip(y, 0, 1) * 255.0).astype(np.uint8)
// numpy does the multiply in float32 (a Python float is a weak scalar) and np.rint rounds half to
// even; so does the 2^23 trick below under the default rounding mode (exact for 0 <= v < 2^23).
#include <array>

#include "edgederain/derain.hpp"

namespace edgederain {
namespace {

const std::array<float, 256>& byte_to_float() {
  static const std::array<float, 256> lut = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  return lut;
}

inline std::uint8_t to_byte(float v) {
  if (!(v >= 0.0f)) return 0;  // negative values clip to 0; NaN also becomes 0 (as numpy's cast does on x86)
  if (v > 1.0f) v = 1.0f;
  const float scaled = v * 255.0f;  // float32 product, rounded once (built with -ffp-contract=off)
  return static_cast<std::uint8_t>((scaled + 8388608.0f) - 8388608.0f);
}

}  // namespace

void frame_to_tensor(const std::uint8_t* rgb, int h, int w, std::size_t stride, float* chw) {
  const auto& lut = byte_to_float();
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  float* r = chw;
  float* g = chw + plane;
  float* b = chw + 2 * plane;
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = rgb + static_cast<std::size_t>(y) * stride;
    const std::size_t base = static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
    for (int x = 0; x < w; ++x) {
      r[base + x] = lut[row[3 * x]];
      g[base + x] = lut[row[3 * x + 1]];
      b[base + x] = lut[row[3 * x + 2]];
    }
  }
}

void tensor_to_frame(const float* chw, int h, int w, std::uint8_t* rgb, std::size_t stride) {
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  const float* r = chw;
  const float* g = chw + plane;
  const float* b = chw + 2 * plane;
  for (int y = 0; y < h; ++y) {
    std::uint8_t* row = rgb + static_cast<std::size_t>(y) * stride;
    const std::size_t base = static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
    for (int x = 0; x < w; ++x) {
      row[3 * x] = to_byte(r[base + x]);
      row[3 * x + 1] = to_byte(g[base + x]);
      row[3 * x + 2] = to_byte(b[base + x]);
    }
  }
}

}  // namespace edgederain
