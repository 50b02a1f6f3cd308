// DerainSession on the ONNX Runtime C++ API: the steps of edgederain/runtime/session.py in its order
// (model file, provider placement, session, contract, graph I/O), then frames in and out.
//
// The API version requested from the library is the ORT_API_VERSION of the headers compiled
// against (ORT_API_MANUAL_INIT: checked once at first use, with an error naming both versions,
// instead of a null API table at static-initialisation time).
#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "edgederain/derain.hpp"
#include "pyfmt.hpp"

#ifndef EDGEDERAIN_ORT_HEADERS_VERSION
#define EDGEDERAIN_ORT_HEADERS_VERSION "unknown"
#endif

namespace edgederain {
namespace {

using Clock = std::chrono::steady_clock;
using Options = std::vector<std::pair<std::string, std::string>>;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

const OrtApi& ort_api() {
  static const OrtApi* api = [] {
    const OrtApi* a = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (a) Ort::InitApi(a);
    return a;
  }();
  if (!api) {
    throw ModelLoadError(std::string("the ONNX Runtime library loaded (") + OrtGetApiBase()->GetVersionString() +
                         ") does not provide API version " + std::to_string(ORT_API_VERSION) +
                         " of the headers this program was built with (" EDGEDERAIN_ORT_HEADERS_VERSION
                         "); link ONNX Runtime >= 1." + std::to_string(ORT_API_VERSION));
  }
  return *api;
}

Ort::Env& ort_env() {
  ort_api();
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "edgederain");
  return env;
}

// --- provider options, the keys of providers.py's to_ort() --------------------------------------
std::string default_cache_dir(const char* kind) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.cache";
  return base + "/edgederain/" + kind;
}

Options cuda_options(const CUDAOptions& o) {
  Options kv = {{"device_id", std::to_string(o.device_id)},
                {"cudnn_conv_algo_search", o.cudnn_conv_algo_search},
                {"cudnn_conv_use_max_workspace", o.cudnn_conv_use_max_workspace ? "1" : "0"},
                {"do_copy_in_default_stream", "1"}};
  if (o.gpu_mem_limit_bytes) kv.emplace_back("gpu_mem_limit", std::to_string(*o.gpu_mem_limit_bytes));
  return kv;
}

std::string profile_shape(const Contract& c, std::int64_t n, std::int64_t h, std::int64_t w) {
  return c.input_name + ":" + std::to_string(n) + "x3x" + std::to_string(h) + "x" + std::to_string(w);
}

Options tensorrt_options(const TensorRTOptions& o, const Contract& c) {
  const std::string cache = o.cache_dir.empty() ? default_cache_dir("tensorrt") : o.cache_dir;
  const bool fp16 = o.fp16.value_or(c.precision == "fp16");
  const bool int8 = o.int8.value_or(c.precision == "int8");
  std::int64_t lo[2] = {c.min_size, c.min_size}, opt[2] = {o.opt_size[0], o.opt_size[1]},
               hi[2] = {o.max_size[0], o.max_size[1]};
  if (auto fixed = c.fixed_size()) {
    for (auto* s : {lo, opt, hi}) s[0] = fixed->first, s[1] = fixed->second;
  }
  const std::int64_t b_lo = c.fixed_batch().value_or(1), b_hi = c.fixed_batch().value_or(o.max_batch);
  return {{"device_id", std::to_string(o.device_id)},
          {"trt_fp16_enable", fp16 ? "1" : "0"},
          {"trt_int8_enable", int8 ? "1" : "0"},
          {"trt_engine_cache_enable", "1"},
          {"trt_engine_cache_path", cache},
          {"trt_timing_cache_enable", "1"},
          {"trt_timing_cache_path", cache},
          {"trt_builder_optimization_level", std::to_string(o.builder_optimization_level)},
          {"trt_profile_min_shapes", profile_shape(c, b_lo, lo[0], lo[1])},
          {"trt_profile_opt_shapes", profile_shape(c, b_lo, opt[0], opt[1])},
          {"trt_profile_max_shapes", profile_shape(c, b_hi, hi[0], hi[1])}};
}

std::unordered_map<std::string, std::string> openvino_options(const OpenVINOOptions& o) {
  std::string props = "\"INFERENCE_PRECISION_HINT\": \"" + o.precision + "\"";
  if (o.num_threads) props = "\"INFERENCE_NUM_THREADS\": \"" + std::to_string(o.num_threads) + "\", " + props;
  std::unordered_map<std::string, std::string> kv = {{"device_type", o.device},
                                                     {"load_config", "{\"" + o.device + "\": {" + props + "}}"}};
  if (!o.cache_dir.empty()) kv["cache_dir"] = o.cache_dir;
  return kv;
}

template <typename T, typename Update>
void update_options(T* opts, const Options& kv, Update update) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : kv) keys.push_back(k.c_str()), values.push_back(v.c_str());
  Ort::ThrowOnError(update(opts, keys.data(), values.data(), keys.size()));
}

void append_provider(Ort::SessionOptions& so, Provider p, const SessionConfig& cfg, const Contract& contract) {
  const OrtApi& api = ort_api();
  if (p == Provider::CUDA) {
    OrtCUDAProviderOptionsV2* raw = nullptr;
    Ort::ThrowOnError(api.CreateCUDAProviderOptions(&raw));
    std::unique_ptr<OrtCUDAProviderOptionsV2, void (*)(OrtCUDAProviderOptionsV2*)> o(raw, api.ReleaseCUDAProviderOptions);
    update_options(o.get(), cuda_options(cfg.cuda), api.UpdateCUDAProviderOptions);
    so.AppendExecutionProvider_CUDA_V2(*o);
  } else if (p == Provider::TensorRT) {
    OrtTensorRTProviderOptionsV2* raw = nullptr;
    Ort::ThrowOnError(api.CreateTensorRTProviderOptions(&raw));
    std::unique_ptr<OrtTensorRTProviderOptionsV2, void (*)(OrtTensorRTProviderOptionsV2*)> o(
        raw, api.ReleaseTensorRTProviderOptions);
    update_options(o.get(), tensorrt_options(cfg.tensorrt, contract), api.UpdateTensorRTProviderOptions);
    so.AppendExecutionProvider_TensorRT_V2(*o);
  } else if (p == Provider::OpenVINO) {
    so.AppendExecutionProvider_OpenVINO_V2(openvino_options(cfg.openvino));
  }
}

// --- the model file (runtime/modelfile.py): what is wrong with it, before ONNX Runtime parses it --------
namespace fs = std::filesystem;

bool checkpoint_suffix(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".pt" || ext == ".pth" || ext == ".ckpt";
}

std::string export_hint(const std::string& path) {
  return path + ": this is a PyTorch checkpoint, not an ONNX model: export it first with `edgederain export " + path +
         " -o " + fs::path(path).filename().replace_extension(".onnx").string() + "` and pass the .onnx file";
}

// torch.save writes a zip archive whose entries are <name>/data.pkl... or, in the legacy format, a
// pickle stream (protocol 2..5). The first zip entry's name is in its local header at offset 30.
bool looks_like_checkpoint(const std::string& head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x80 && head[1] >= 2 && head[1] <= 5) return true;
  if (head.size() < 30 || head.compare(0, 4, "PK\x03\x04") != 0) return false;
  const std::size_t len = static_cast<unsigned char>(head[26]) | (static_cast<std::size_t>(static_cast<unsigned char>(head[27])) << 8);
  const std::string name = head.substr(30, len);
  auto ends = [&](const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends("data.pkl") || ends("constants.pkl");
}

void check_model_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.path().extension() == ".onnx") found.push_back(e.path().filename().string());
    std::sort(found.begin(), found.end());
    std::string which = "the .onnx file itself (this folder holds none)";
    if (!found.empty()) {
      which = "one of the .onnx files in it: ";
      for (std::size_t i = 0; i < std::min<std::size_t>(found.size(), 5); ++i) which += (i ? ", " : "") + found[i];
    }
    throw ModelNotFoundError(path + " is a folder, not a model file; pass " + which);
  }
  if (!fs::is_regular_file(path, ec))
    throw ModelNotFoundError(path + ": model file not found; pass the path of an exported .onnx file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelLoadError(path + ": cannot read the model file (" + std::strerror(errno) + ")");
  std::string head(512, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(f.gcount()));
  if (head.empty()) throw ModelLoadError(path + ": the model file is empty (0 bytes); export it again");
  if (looks_like_checkpoint(head)) throw ModelLoadError(export_hint(path));
}

ModelLoadError load_error(const std::string& path, const std::exception& exc) {
  if (checkpoint_suffix(path)) return ModelLoadError(export_hint(path));
  std::string detail = exc.what();
  detail = detail.substr(0, detail.find('\n'));
  if (detail.size() > 300) detail = detail.substr(0, 300) + "...";
  return ModelLoadError(path + ": ONNX Runtime cannot load this model (" + detail +
                        "); pass an .onnx file written by `edgederain export` (a truncated or corrupt file must "
                        "be exported again)");
}

const char* provider_hint(Provider p) {  // placement.py's PROVIDER_HINTS
  switch (p) {
    case Provider::TensorRT:
      return "check that the TensorRT libraries are installed and on the library path, and the NVIDIA driver "
             "(nvidia-smi) and CUDA libraries that onnxruntime-gpu needs";
    case Provider::CUDA:
      return "check the NVIDIA driver (nvidia-smi) and that the CUDA and cuDNN libraries onnxruntime-gpu needs are "
             "installed and found";
    case Provider::OpenVINO:
      return "check the OpenVINO install: link the library of the onnxruntime-openvino build, and its device must be "
             "present (OpenVINOOptions::device)";
    default: return "the CPU provider is always built in; reinstall onnxruntime";
  }
}

// --- placement: plan_placement() and _refuse_dropped() of placement.py ---------------------------------
std::string unavailable_reason(Provider p, std::vector<std::string> available) {
  if (p == Provider::CPU || std::count(available.begin(), available.end(), provider_ort_name(p))) return "";
  std::sort(available.begin(), available.end());
  const char* fix = p == Provider::OpenVINO
                        ? "link the library of the onnxruntime-openvino build (the onnxruntime-ep-openvino "
                          "plugin needs ONNX Runtime >= 1.22 headers)"
                        : "link the library of onnxruntime-gpu for cuda/tensorrt";
  return std::string(provider_ort_name(p)) + " is not available in this onnxruntime build (available: " +
         pyfmt::str_list(available) + "); " + fix;
}

Ort::SessionOptions base_options(const SessionConfig& c, GraphOptimizationLevel level) {
  Ort::SessionOptions so;
  so.SetGraphOptimizationLevel(level);
  so.SetIntraOpNumThreads(c.intra_op_threads);
  so.SetInterOpNumThreads(c.inter_op_threads);
  if (c.use_arena) so.EnableCpuMemArena(); else so.DisableCpuMemArena();
  so.SetLogSeverityLevel(c.log_severity);
  return so;
}

std::optional<std::string> contract_text(const Ort::Session& s) {
  Ort::AllocatorWithDefaultOptions alloc;
  Ort::ModelMetadata md = s.GetModelMetadata();
  Ort::AllocatedStringPtr v = md.LookupCustomMetadataMapAllocated(kMetadataKey, alloc);
  if (!v) return std::nullopt;
  return std::string(v.get());
}

Ort::Session open_session(const std::string& path, const Ort::SessionOptions& so) {
  return Ort::Session(ort_env(), path.c_str(), so);
}

Contract peek_contract(const std::string& path, const SessionConfig& cfg) {
  try {
    Ort::Session s = open_session(path, base_options(cfg, ORT_DISABLE_ALL));
    return Contract::from_metadata(contract_text(s), path);
  } catch (const Ort::Exception& exc) {
    throw load_error(path, exc);
  }
}

void check_io(const Ort::Session& s, const Contract& c, const std::string& path) {
  Ort::AllocatorWithDefaultOptions alloc;
  std::vector<std::string> inputs, outputs;
  for (std::size_t i = 0; i < s.GetInputCount(); ++i) inputs.emplace_back(s.GetInputNameAllocated(i, alloc).get());
  for (std::size_t i = 0; i < s.GetOutputCount(); ++i) outputs.emplace_back(s.GetOutputNameAllocated(i, alloc).get());
  const auto in = std::find(inputs.begin(), inputs.end(), c.input_name);
  if (in == inputs.end() || std::find(outputs.begin(), outputs.end(), c.output_name) == outputs.end()) {
    std::sort(inputs.begin(), inputs.end());
    std::sort(outputs.begin(), outputs.end());
    throw ContractError(path + ": contract names input " + pyfmt::str_repr(c.input_name) + " / output " +
                        pyfmt::str_repr(c.output_name) + " but the graph has inputs " + pyfmt::str_list(inputs) +
                        " and outputs " + pyfmt::str_list(outputs) + "; re-export it");
  }
  const auto idx = static_cast<std::size_t>(in - inputs.begin());
  if (s.GetInputTypeInfo(idx).GetTensorTypeAndShapeInfo().GetDimensionsCount() != 4)
    throw ContractError(path + ": graph input is not 4-D N x 3 x H x W; re-export the model");
}

void check_frame(const Contract& c, const std::uint8_t* rgb, int h, int w, std::size_t stride) {
  if (h <= 0 || w <= 0)
    throw InputError("frames have zero size: shape (" + std::to_string(h) + ", " + std::to_string(w) + ", 3)");
  if (!rgb) throw InputError("frame pointer is null");
  const std::size_t row = static_cast<std::size_t>(w) * 3;
  if (stride < row)
    throw InputError("row stride " + std::to_string(stride) + " bytes is smaller than one row of " +
                     std::to_string(w) + " RGB pixels (" + std::to_string(row) + " bytes)");
  if (h < c.min_size || w < c.min_size)
    throw InputError("frames are " + std::to_string(h) + "x" + std::to_string(w) + "; the model needs at least " +
                     std::to_string(c.min_size) + "x" + std::to_string(c.min_size));
  if (auto fixed = c.fixed_size(); fixed && (fixed->first != h || fixed->second != w))
    throw InputError("this model accepts only " + std::to_string(fixed->first) + "x" + std::to_string(fixed->second) +
                     " frames, got " + std::to_string(h) + "x" + std::to_string(w) +
                     "; resize the frames (the C++ runtime does not tile)");
}

}  // namespace

// --- the session ---------------------------------------------------------------------------------------
struct DerainSession::Impl {
  std::string path;
  SessionConfig config;
  Ort::Session session{nullptr};
  Contract contract;
  std::vector<std::string> providers, fallback_reasons;
  double creation_seconds = 0;

  void create();
  void fail_over(const Ort::Exception& exc, const std::vector<Provider>& kept);
};

void DerainSession::Impl::create() {
  config.validate();
  check_model_file(path);
  const std::vector<std::string> available = Ort::GetAvailableProviders();
  std::vector<Provider> kept;
  for (Provider p : config.providers) {
    const std::string reason = unavailable_reason(p, available);
    if (reason.empty()) {
      kept.push_back(p);
    } else if (!config.allow_fallback) {
      throw ProviderError("requested execution provider " + pyfmt::str_repr(provider_name(p)) +
                          " is not available: " + reason +
                          ". Pass allow_fallback = true (--allow-fallback) to run on the remaining providers");
    } else {
      fallback_reasons.push_back(std::string(provider_name(p)) + ": " + reason);
    }
  }
  if (std::find(kept.begin(), kept.end(), Provider::CPU) == kept.end()) kept.push_back(Provider::CPU);
  const bool trt = std::count(kept.begin(), kept.end(), Provider::TensorRT) > 0;
  const Contract peeked = trt ? peek_contract(path, config) : Contract{};
  try {
    Ort::SessionOptions so = base_options(config, ORT_ENABLE_ALL);
    for (Provider p : kept) append_provider(so, p, config, peeked);
    session = open_session(path, so);
    for (Provider p : kept) providers.emplace_back(provider_ort_name(p));
  } catch (const Ort::Exception& exc) {
    fail_over(exc, kept);
  }
  contract = Contract::from_metadata(contract_text(session), path);
  check_io(session, contract, path);
}

// _after_failure(): a bad model, or a provider that could not start?
void DerainSession::Impl::fail_over(const Ort::Exception& exc, const std::vector<Provider>& kept) {
  if (kept.size() == 1) throw load_error(path, exc);
  try {
    session = open_session(path, base_options(config, ORT_ENABLE_ALL));
  } catch (const Ort::Exception& cpu_exc) {
    throw load_error(path, cpu_exc);
  }
  if (!config.allow_fallback)
    throw ProviderError("execution provider " + pyfmt::str_repr(provider_name(kept[0])) + " failed to start (" +
                        exc.what() + "); " + provider_hint(kept[0]) + ", or pass allow_fallback = true (--allow-fallback)");
  for (Provider p : kept)
    if (p != Provider::CPU) fallback_reasons.push_back(std::string(provider_name(p)) + ": failed to start: " + exc.what());
  providers = {provider_ort_name(Provider::CPU)};
}

DerainSession::DerainSession(const std::string& model_path, SessionConfig config) : impl_(std::make_unique<Impl>()) {
  const auto t0 = Clock::now();
  impl_->path = model_path;
  impl_->config = std::move(config);
  ort_api();
  impl_->create();
  impl_->creation_seconds = ms_since(t0) / 1000.0;
}

DerainSession::~DerainSession() = default;
DerainSession::DerainSession(DerainSession&&) noexcept = default;
DerainSession& DerainSession::operator=(DerainSession&&) noexcept = default;

Frame DerainSession::run(const Frame& frame, RunTimings* timings) const {
  if (frame.h > 0 && frame.w > 0 &&
      frame.rgb.size() != static_cast<std::size_t>(frame.h) * static_cast<std::size_t>(frame.w) * 3)
    throw InputError("frame buffer holds " + std::to_string(frame.rgb.size()) + " bytes; a " +
                     std::to_string(frame.h) + "x" + std::to_string(frame.w) + " RGB frame needs " +
                     std::to_string(static_cast<std::size_t>(frame.h) * frame.w * 3) + " (h x w x 3, rows packed)");
  return run(frame.rgb.data(), frame.h, frame.w, static_cast<std::size_t>(frame.w) * 3, timings);
}

Frame DerainSession::run(const std::uint8_t* rgb, int h, int w, std::size_t stride, RunTimings* timings) const {
  check_frame(impl_->contract, rgb, h, w, stride);
  Frame out{h, w, std::vector<std::uint8_t>(static_cast<std::size_t>(h) * w * 3)};
  run_into(rgb, h, w, stride, out.rgb.data(), static_cast<std::size_t>(w) * 3, timings);
  return out;
}

void DerainSession::run_into(const std::uint8_t* rgb, int h, int w, std::size_t stride, std::uint8_t* out,
                             std::size_t out_stride, RunTimings* timings) const {
  const Contract& c = impl_->contract;
  check_frame(c, rgb, h, w, stride);
  if (!out || out_stride < static_cast<std::size_t>(w) * 3)
    throw InputError("output buffer is null or its stride " + std::to_string(out_stride) +
                     " bytes is smaller than one row (" + std::to_string(static_cast<std::size_t>(w) * 3) + " bytes)");
  RunTimings t;
  auto t0 = Clock::now();
  const std::int64_t n = c.fixed_batch().value_or(1);  // a fixed-batch graph gets copies of the frame
  const std::size_t one = static_cast<std::size_t>(h) * w * 3;
  std::vector<float> x(one * static_cast<std::size_t>(n));
  frame_to_tensor(rgb, h, w, stride, x.data());
  for (std::int64_t i = 1; i < n; ++i) std::copy_n(x.begin(), one, x.begin() + static_cast<std::ptrdiff_t>(one * i));
  const std::int64_t shape[4] = {n, 3, h, w};
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, x.data(), x.size(), shape, 4);
  t.to_tensor_ms = ms_since(t0);

  t0 = Clock::now();
  const char* in_names[] = {c.input_name.c_str()};
  const char* out_names[] = {c.output_name.c_str()};
  std::vector<Ort::Value> y;
  try {
    y = impl_->session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
  } catch (const Ort::Exception& exc) {
    throw Error(impl_->path + ": ONNX Runtime failed on a " + pyfmt::int_tuple({n, 3, h, w}) + " input (" +
                exc.what() + ")");
  }
  t.infer_ms = ms_since(t0);

  t0 = Clock::now();
  const auto info = y.at(0).GetTensorTypeAndShapeInfo();
  if (info.GetShape() != std::vector<std::int64_t>(shape, shape + 4))
    throw ContractError(impl_->path + ": model returned shape " + pyfmt::int_tuple(info.GetShape()) + " for input " +
                        pyfmt::int_tuple({n, 3, h, w}) + "; the contract promises the input's shape; re-export the model");
  if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
    throw ContractError(impl_->path + ": model output " + pyfmt::str_repr(c.output_name) +
                        " is not float32; the contract promises float32; re-export the model");
  tensor_to_frame(y[0].GetTensorData<float>(), h, w, out, out_stride);
  t.from_tensor_ms = ms_since(t0);
  if (timings) *timings = t;
}

const Contract& DerainSession::contract() const { return impl_->contract; }
const SessionConfig& DerainSession::config() const { return impl_->config; }
const std::string& DerainSession::model_path() const { return impl_->path; }
const std::vector<std::string>& DerainSession::providers() const { return impl_->providers; }
const std::vector<std::string>& DerainSession::fallback_reasons() const { return impl_->fallback_reasons; }
double DerainSession::creation_seconds() const { return impl_->creation_seconds; }

RuntimeInfo runtime_info() {
  ort_api();
  RuntimeInfo info;
  info.library_version = Ort::GetVersionString();
  info.api_version = ORT_API_VERSION;
  info.headers_version = EDGEDERAIN_ORT_HEADERS_VERSION;
  info.available_providers = Ort::GetAvailableProviders();
  return info;
}

}  // namespace edgederain
