// edgederain C++ runtime: an exported deraining model on ONNX Runtime, 8-bit RGB frames in and out.
//
// The C++ counterpart of the Python edgederain.runtime.DerainSession. It reads the model's contract
// (JSON under the metadata key "edgederain.contract"), refuses a model without one or with a schema
// version it does not know, checks the graph's input/output against it, places the model on the
// requested execution providers (names and priority order as in edgederain/runtime/providers.py)
// and converts frames exactly as edgederain/runtime/preprocess.py does:
//   in:  uint8 H x W x 3 RGB -> float32 1 x 3 x H x W, value / 255
//   out: clip to [0, 1], x 255, round half to even (np.rint), uint8 H x W x 3 RGB
// Padding to the contract's size multiple happens inside the exported graph.
//
// Errors a caller can cause throw the types below (one per Python exception type of the same name),
// with the same messages as the Python runtime where both have the check.
//
// Not here (the Python runtime has them): tiling of large frames, float32 frames, batches of
// several frames per call, the OpenVINO plugin package (onnxruntime-ep-openvino; it needs ONNX
// Runtime >= 1.22 headers), and the after-creation check of active providers (the C API of
// ONNX Runtime 1.21 cannot list them; a provider that cannot start makes session creation throw).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace edgederain {

// --- errors (edgederain/errors.py) -----------------------------------------------------------------
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigError : Error { using Error::Error; };         // a configuration value is invalid
struct ContractError : Error { using Error::Error; };       // contract missing/malformed/unsupported
struct InputError : Error { using Error::Error; };          // a frame has the wrong size or buffer
struct ProviderError : Error { using Error::Error; };       // a requested provider is unavailable
struct ModelNotFoundError : Error { using Error::Error; };  // no model file at the path
struct ModelLoadError : Error { using Error::Error; };      // ONNX Runtime cannot load the file
struct ImageReadError : Error { using Error::Error; };      // (CLI) an image file cannot be read
struct ImageWriteError : Error { using Error::Error; };     // (CLI) an image file cannot be written

// --- the contract (edgederain/contract.py) ---------------------------------------------------------
inline constexpr const char* kMetadataKey = "edgederain.contract";
inline constexpr int kSchemaVersion = 1;

struct Dim {  // one entry of input_shape: a fixed size (> 0) or a dynamic dimension's name
  std::int64_t size = 0;
  std::string name;
  bool fixed() const { return size > 0; }
};

struct Contract {
  int schema_version = kSchemaVersion;
  std::string producer = "edgederain";
  std::string precision = "fp32";  // fp32 | fp16 | int8
  std::string input_name = "image";
  std::string output_name = "derained";
  std::string layout = "NCHW";
  std::string color = "RGB";
  std::string dtype = "float32";
  double value_range[2] = {0.0, 1.0};
  Dim input_shape[4] = {{0, "batch"}, {3, ""}, {0, "height"}, {0, "width"}};
  int size_multiple = 8;
  int min_size = 8;
  std::string variant = "single";
  std::optional<std::string> checkpoint_sha256;
  std::optional<int> opset;
  std::string json;  // the contract as stored in the model

  std::optional<std::int64_t> fixed_batch() const;
  std::optional<std::pair<std::int64_t, std::int64_t>> fixed_size() const;  // (H, W)

  // Parse and validate (the checks and messages of IOContract.from_json / _validate).
  static Contract from_json(const std::string& text);
  // The contract in a model's metadata, or ContractError naming `source` when there is none.
  static Contract from_metadata(const std::optional<std::string>& value, const std::string& source);
};

// --- execution providers (edgederain/runtime/providers.py) -----------------------------------------
enum class Provider { TensorRT, CUDA, OpenVINO, CPU };  // priority order

const char* provider_name(Provider p);      // "tensorrt", "cuda", "openvino", "cpu"
const char* provider_ort_name(Provider p);  // "TensorrtExecutionProvider", ...
Provider parse_provider(const std::string& name);  // short or ORT name; ConfigError otherwise
std::vector<Provider> provider_chain(Provider p);   // tensorrt -> {tensorrt, cuda, cpu}, ...

struct CUDAOptions {
  int device_id = 0;
  std::string cudnn_conv_algo_search = "HEURISTIC";  // HEURISTIC | EXHAUSTIVE | DEFAULT
  bool cudnn_conv_use_max_workspace = true;
  std::optional<std::size_t> gpu_mem_limit_bytes;
};

struct TensorRTOptions {
  int device_id = 0;
  std::optional<bool> fp16, int8;  // unset: follow the contract's precision
  std::string cache_dir;           // empty: $XDG_CACHE_HOME/edgederain/tensorrt
  int opt_size[2] = {720, 1280};
  int max_size[2] = {1088, 1920};
  int max_batch = 1;
  int builder_optimization_level = 3;
};

struct OpenVINOOptions {
  std::string device = "CPU";     // CPU | GPU | NPU
  std::string precision = "f32";  // f32 | bf16 | f16 (through load_config)
  int num_threads = 0;
  std::string cache_dir;
};

struct SessionConfig {
  std::vector<Provider> providers = {Provider::CPU};  // priority order; CPU is always behind them
  bool allow_fallback = false;  // false: a requested provider that is missing is an error
  int intra_op_threads = 0;     // 0: ONNX Runtime's default (one per physical core)
  int inter_op_threads = 1;
  bool use_arena = true;
  int log_severity = 3;  // ONNX Runtime log level 0 (verbose) .. 4 (fatal)
  CUDAOptions cuda;
  TensorRTOptions tensorrt;
  OpenVINOOptions openvino;

  // The conventional chain for one provider, e.g. tensorrt -> tensorrt, cuda, cpu.
  static SessionConfig for_provider(Provider p, int threads = 0, bool allow_fallback = false);
  void validate() const;  // ConfigError with the fix
};

// --- frames ------------------------------------------------------------------------------------------
struct Frame {
  int h = 0, w = 0;
  std::vector<std::uint8_t> rgb;  // h x w x 3, rows packed (stride w * 3)
};

struct RunTimings {  // milliseconds spent in one run()
  double to_tensor_ms = 0, infer_ms = 0, from_tensor_ms = 0;
  double total_ms() const { return to_tensor_ms + infer_ms + from_tensor_ms; }
};

// HWC uint8 (rows `stride` bytes apart) -> CHW float32 in [0, 1] (h * w * 3 floats), value / 255.
void frame_to_tensor(const std::uint8_t* rgb, int h, int w, std::size_t stride, float* chw);
// CHW float32 -> HWC uint8: clip to [0, 1], x 255, round half to even; NaN becomes 0.
void tensor_to_frame(const float* chw, int h, int w, std::uint8_t* rgb, std::size_t stride);

// --- the session -------------------------------------------------------------------------------------
struct RuntimeInfo {
  std::string library_version;  // of the libonnxruntime loaded at run time
  int api_version = 0;          // ORT_API_VERSION requested (that of the headers compiled against)
  std::string headers_version;  // package version of those headers
  std::vector<std::string> available_providers;
};
RuntimeInfo runtime_info();  // ModelLoadError when the library lacks the requested API version

class DerainSession {
 public:
  explicit DerainSession(const std::string& model_path, SessionConfig config = {});
  ~DerainSession();
  DerainSession(DerainSession&&) noexcept;
  DerainSession& operator=(DerainSession&&) noexcept;
  DerainSession(const DerainSession&) = delete;
  DerainSession& operator=(const DerainSession&) = delete;

  // Derain one frame. Thread-safe (several threads may share one session; each call has its own
  // buffers), but one thread per session is usually fastest: ONNX Runtime already uses the cores.
  Frame run(const Frame& frame, RunTimings* timings = nullptr) const;
  // A camera buffer: h rows of w RGB pixels, `stride` bytes from one row to the next.
  Frame run(const std::uint8_t* rgb, int h, int w, std::size_t stride,
            RunTimings* timings = nullptr) const;
  // The same into a caller-owned buffer (out_stride >= w * 3); no allocation of frames.
  void run_into(const std::uint8_t* rgb, int h, int w, std::size_t stride, std::uint8_t* out,
                std::size_t out_stride, RunTimings* timings = nullptr) const;

  const Contract& contract() const;
  const SessionConfig& config() const;
  const std::string& model_path() const;
  // The ORT providers the session was created with, in order (CPU last), and why any requested
  // provider was dropped (only with allow_fallback).
  const std::vector<std::string>& providers() const;
  const std::vector<std::string>& fallback_reasons() const;
  double creation_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgederain
