// edgederain-derain: derain one PNG with an exported model through the C++ runtime, and time it.
//
//   edgederain-derain MODEL INPUT.png OUTPUT.png [--provider cpu] [--threads N] [--iterations N]
//   edgederain-derain MODEL --info
//
// Exit status: 0 done; 2 an error the user can fix (bad model, image, provider or argument; one
// line "error: ..." on stderr, as the Python CLI); 1 anything unexpected.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "edgederain/derain.hpp"
#include "png_io.hpp"

namespace {

using namespace edgederain;

const char* kUsage =
    "usage: edgederain-derain MODEL INPUT.png OUTPUT.png [options]\n"
    "       edgederain-derain MODEL --info\n"
    "options:\n"
    "  --provider NAME          cpu | cuda | tensorrt | openvino (default cpu); requests the provider's\n"
    "                           chain (tensorrt: tensorrt, cuda, cpu), as `edgederain derain --provider`\n"
    "  --allow-fallback         run on the remaining providers when a requested one is missing\n"
    "  --threads N              CPU intra-op threads (0: ONNX Runtime's default, one per physical core)\n"
    "  --openvino-precision P   f32 | bf16 | f16 (default f32)\n"
    "  --iterations N           derain the frame N times and report latency statistics (default 1)\n"
    "  --warmup N               untimed runs before the timed ones (default 0)\n"
    "  --max-pixels N           refuse larger images (default 100000000)\n"
    "  --row-padding N          hand the frame over as a camera buffer whose rows are N bytes longer\n"
    "                           than the pixels (the pointer + stride API), output likewise\n"
    "  --json                   print the result as one JSON object on stdout\n"
    "  --info                   print the ONNX Runtime versions, providers and the model's contract\n";

struct Args {
  std::string model, input, output, provider = "cpu", ov_precision = "f32";
  bool allow_fallback = false, json = false, info = false;
  int threads = 0, iterations = 1, warmup = 0, row_padding = 0;
  long long max_pixels = 100'000'000;
};

long long to_number(const std::string& flag, const std::string& text, long long lo) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < lo)
    throw ConfigError(flag + " needs an integer >= " + std::to_string(lo) + ", got '" + text + "'");
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ConfigError(s + " needs a value\n" + kUsage);
      return argv[++i];
    };
    if (s == "-h" || s == "--help") { std::cout << kUsage; std::exit(0); }
    else if (s == "--provider") a.provider = value();
    else if (s == "--allow-fallback") a.allow_fallback = true;
    else if (s == "--threads") a.threads = static_cast<int>(to_number(s, value(), 0));
    else if (s == "--openvino-precision") a.ov_precision = value();
    else if (s == "--iterations") a.iterations = static_cast<int>(to_number(s, value(), 1));
    else if (s == "--warmup") a.warmup = static_cast<int>(to_number(s, value(), 0));
    else if (s == "--max-pixels") a.max_pixels = to_number(s, value(), 1);
    else if (s == "--row-padding") a.row_padding = static_cast<int>(to_number(s, value(), 0));
    else if (s == "--json") a.json = true;
    else if (s == "--info") a.info = true;
    else if (s.size() > 1 && s[0] == '-') throw ConfigError("unknown option " + s + "\n" + kUsage);
    else pos.push_back(s);
  }
  if (a.info ? pos.size() != 1 : pos.size() != 3)
    throw ConfigError(std::string(a.info ? "--info takes MODEL only" : "expected MODEL INPUT.png OUTPUT.png") +
                      "\n" + kUsage);
  a.model = pos[0];
  if (!a.info) a.input = pos[1], a.output = pos[2];
  return a;
}

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_str(v[i]);
  return out + "]";
}

std::string json_nums(const std::vector<double>& v) {
  std::ostringstream out;
  out.precision(6);
  out << "[";
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  out << "]";
  return out.str();
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

int print_info(const Args& a) {
  const RuntimeInfo rt = runtime_info();
  SessionConfig cfg = SessionConfig::for_provider(parse_provider(a.provider), a.threads, a.allow_fallback);
  DerainSession s(a.model, cfg);
  if (a.json) {
    std::cout << "{\"onnxruntime\": " << json_str(rt.library_version) << ", \"api_version\": " << rt.api_version
              << ", \"headers\": " << json_str(rt.headers_version)
              << ", \"available_providers\": " << json_list(rt.available_providers)
              << ", \"providers\": " << json_list(s.providers()) << ", \"contract\": " << s.contract().json << "}\n";
    return 0;
  }
  std::cout << "onnxruntime " << rt.library_version << " (API version " << rt.api_version << " requested; headers "
            << rt.headers_version << ")\navailable providers: " << json_list(rt.available_providers)
            << "\nsession providers: " << json_list(s.providers()) << "\ncontract: " << s.contract().json << "\n";
  return 0;
}

// The frame as a camera hands it over: rows `padding` bytes longer than the pixels, both ways.
struct PaddedRun {
  const DerainSession& session;
  int h, w;
  std::size_t stride;
  std::vector<std::uint8_t> in, out;

  PaddedRun(const DerainSession& s, const Frame& f, int padding)
      : session(s), h(f.h), w(f.w), stride(static_cast<std::size_t>(f.w) * 3 + static_cast<std::size_t>(padding)),
        in(stride * static_cast<std::size_t>(f.h), 0xAB), out(in.size(), 0) {
    for (int y = 0; y < h; ++y)
      std::copy_n(f.rgb.data() + static_cast<std::size_t>(y) * w * 3, static_cast<std::size_t>(w) * 3, in.data() + y * stride);
  }
  Frame operator()(RunTimings* t) {
    session.run_into(in.data(), h, w, stride, out.data(), stride, t);
    Frame f{h, w, std::vector<std::uint8_t>(static_cast<std::size_t>(h) * w * 3)};
    for (int y = 0; y < h; ++y)
      std::copy_n(out.data() + y * stride, static_cast<std::size_t>(w) * 3, f.rgb.data() + static_cast<std::size_t>(y) * w * 3);
    return f;
  }
};

int derain(const Args& a) {
  SessionConfig cfg = SessionConfig::for_provider(parse_provider(a.provider), a.threads, a.allow_fallback);
  cfg.openvino.precision = a.ov_precision;
  DerainSession session(a.model, cfg);  // model and provider errors before the image is read
  cli::LoadedPng png = cli::read_png(a.input, a.max_pixels);
  for (const auto& note : png.notes) std::cerr << "note: " << a.input << ": " << note << "\n";
  PaddedRun padded(session, png.frame, a.row_padding);
  auto run_once = [&](RunTimings* t) { return a.row_padding ? padded(t) : session.run(png.frame, t); };
  Frame out;
  for (int i = 0; i < a.warmup; ++i) out = run_once(nullptr);
  std::vector<double> total, pre, infer, post;
  for (int i = 0; i < a.iterations; ++i) {
    RunTimings t;
    out = run_once(&t);
    total.push_back(t.total_ms()), pre.push_back(t.to_tensor_ms), infer.push_back(t.infer_ms), post.push_back(t.from_tensor_ms);
  }
  cli::write_png(a.output, out, a.input);
  const RuntimeInfo rt = runtime_info();
  if (a.json) {
    std::cout << "{\"model\": " << json_str(a.model) << ", \"precision\": " << json_str(session.contract().precision)
              << ", \"onnxruntime\": " << json_str(rt.library_version) << ", \"api_version\": " << rt.api_version
              << ", \"providers\": " << json_list(session.providers())
              << ", \"fallback_reasons\": " << json_list(session.fallback_reasons()) << ", \"threads\": " << a.threads
              << ", \"height\": " << png.frame.h << ", \"width\": " << png.frame.w
              << ", \"creation_s\": " << session.creation_seconds() << ", \"warmup\": " << a.warmup
              << ", \"total_ms\": " << json_nums(total) << ", \"to_tensor_ms\": " << json_nums(pre)
              << ", \"infer_ms\": " << json_nums(infer) << ", \"from_tensor_ms\": " << json_nums(post)
              << ", \"notes\": " << json_list(png.notes) << "}\n";
    return 0;
  }
  std::printf("derained %s (%dx%d) -> %s with %s (%s, onnxruntime %s), session created in %.2f s\n", a.input.c_str(),
              png.frame.w, png.frame.h, a.output.c_str(), a.model.c_str(), session.contract().precision.c_str(),
              rt.library_version.c_str(), session.creation_seconds());
  std::printf("latency over %d run(s): mean %.1f ms, p50 %.1f, min %.1f, max %.1f "
              "(to tensor %.2f, inference %.1f, from tensor %.2f ms mean)\n",
              a.iterations, mean(total), percentile(total, 0.5), *std::min_element(total.begin(), total.end()),
              *std::max_element(total.begin(), total.end()), mean(pre), mean(infer), mean(post));
  for (const auto& r : session.fallback_reasons()) std::printf("fallback: %s\n", r.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    return a.info ? print_info(a) : derain(a);
  } catch (const edgederain::Error& exc) {
    std::cerr << "error: " << exc.what() << "\n";
    return 2;
  } catch (const std::exception& exc) {
    std::cerr << "error (unexpected): " << exc.what() << "\n";
    return 1;
  }
}
