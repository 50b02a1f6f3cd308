// Execution-provider names, chains and session configuration checks, as in
// edgederain/runtime/providers.py (same short names, same priority order, same messages).
#include <algorithm>

#include "edgederain/derain.hpp"
#include "pyfmt.hpp"

namespace edgederain {
namespace {

constexpr Provider kOrder[] = {Provider::TensorRT, Provider::CUDA, Provider::OpenVINO, Provider::CPU};

int rank(Provider p) { return static_cast<int>(std::find(std::begin(kOrder), std::end(kOrder), p) - kOrder); }

std::vector<std::string> short_names(const std::vector<Provider>& ps) {
  std::vector<std::string> out;
  for (Provider p : ps) out.push_back(provider_name(p));
  return out;
}

void check_nonneg(const char* name, int value) {
  if (value < 0) throw ConfigError(std::string(name) + " must be an int >= 0, got " + std::to_string(value));
}

void check_trt(const TensorRTOptions& t) {
  check_nonneg("device_id", t.device_id);
  for (auto [name, size] : {std::pair{"opt_size", t.opt_size}, std::pair{"max_size", t.max_size}})
    if (size[0] < 1 || size[1] < 1)
      throw ConfigError(std::string(name) + " must be (height, width) positive ints, got (" +
                        std::to_string(size[0]) + ", " + std::to_string(size[1]) + ")");
  if (t.opt_size[0] > t.max_size[0] || t.opt_size[1] > t.max_size[1])
    throw ConfigError("opt_size (" + std::to_string(t.opt_size[0]) + ", " + std::to_string(t.opt_size[1]) +
                      ") exceeds max_size (" + std::to_string(t.max_size[0]) + ", " +
                      std::to_string(t.max_size[1]) + ")");
  if (t.max_batch < 1) throw ConfigError("max_batch must be >= 1, got " + std::to_string(t.max_batch));
  if (t.builder_optimization_level < 0 || t.builder_optimization_level > 5)
    throw ConfigError("builder_optimization_level must be in 0..5");
}

void check_options(const SessionConfig& c) {
  check_nonneg("intra_op_threads", c.intra_op_threads);
  check_nonneg("inter_op_threads", c.inter_op_threads);
  check_nonneg("device_id", c.cuda.device_id);
  const std::string& search = c.cuda.cudnn_conv_algo_search;
  if (search != "HEURISTIC" && search != "EXHAUSTIVE" && search != "DEFAULT")
    throw ConfigError("cudnn_conv_algo_search must be HEURISTIC, EXHAUSTIVE or DEFAULT, got " +
                      pyfmt::str_repr(search));
  check_trt(c.tensorrt);
  const OpenVINOOptions& ov = c.openvino;
  if (ov.device != "CPU" && ov.device != "GPU" && ov.device != "NPU")
    throw ConfigError("OpenVINO device must be CPU, GPU or NPU, got " + pyfmt::str_repr(ov.device));
  if (ov.precision != "f32" && ov.precision != "bf16" && ov.precision != "f16")
    throw ConfigError("OpenVINO precision must be f32, bf16 or f16, got " + pyfmt::str_repr(ov.precision));
  check_nonneg("num_threads", ov.num_threads);
  if (c.log_severity < 0 || c.log_severity > 4)
    throw ConfigError("log_severity must be 0..4, got " + std::to_string(c.log_severity));
}

}  // namespace

const char* provider_name(Provider p) {
  switch (p) {
    case Provider::TensorRT: return "tensorrt";
    case Provider::CUDA: return "cuda";
    case Provider::OpenVINO: return "openvino";
    default: return "cpu";
  }
}

const char* provider_ort_name(Provider p) {
  switch (p) {
    case Provider::TensorRT: return "TensorrtExecutionProvider";
    case Provider::CUDA: return "CUDAExecutionProvider";
    case Provider::OpenVINO: return "OpenVINOExecutionProvider";
    default: return "CPUExecutionProvider";
  }
}

Provider parse_provider(const std::string& name) {
  for (Provider p : kOrder)
    if (name == provider_name(p) || name == provider_ort_name(p)) return p;
  throw ConfigError("unknown execution provider " + pyfmt::str_repr(name) +
                    " for provider (--provider); choose one of ['tensorrt', 'cuda', 'openvino', 'cpu']");
}

std::vector<Provider> provider_chain(Provider p) {
  switch (p) {
    case Provider::TensorRT: return {Provider::TensorRT, Provider::CUDA, Provider::CPU};
    case Provider::CUDA: return {Provider::CUDA, Provider::CPU};
    case Provider::OpenVINO: return {Provider::OpenVINO, Provider::CPU};
    default: return {Provider::CPU};
  }
}

SessionConfig SessionConfig::for_provider(Provider p, int threads, bool allow_fallback) {
  SessionConfig c;
  c.providers = provider_chain(p);
  c.allow_fallback = allow_fallback;
  c.intra_op_threads = threads;
  c.openvino.num_threads = threads;
  return c;
}

void SessionConfig::validate() const {
  if (providers.empty()) throw ConfigError("providers is empty; request at least 'cpu'");
  std::vector<Provider> sorted = providers;
  std::sort(sorted.begin(), sorted.end(), [](Provider a, Provider b) { return rank(a) < rank(b); });
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw ConfigError("providers lists a provider twice: " + pyfmt::str_list(short_names(providers)));
  if (sorted != providers)
    throw ConfigError("providers must be in priority order (tensorrt, cuda, openvino, cpu); write " +
                      pyfmt::str_list(short_names(sorted)) + " instead of " +
                      pyfmt::str_list(short_names(providers)));
  check_options(*this);
}

}  // namespace edgederain
