// PNG files <-> 8-bit RGB frames for the command-line example (libpng).
#pragma once

#include <string>
#include <vector>

#include "edgederain/derain.hpp"

namespace edgederain::cli {

struct LoadedPng {
  Frame frame;
  std::vector<std::string> notes;  // conversions made (palette expanded, alpha discarded)
};

// 8-bit RGB, RGBA (alpha discarded) and palette PNGs. Grayscale and 16-bit files are refused
// (ImageReadError with what to do), as are files larger than max_pixels.
LoadedPng read_png(const std::string& path, long long max_pixels = 100'000'000);

// Writes atomically (a temporary file in the same folder, then rename); refuses to overwrite
// `protect` (the input). ImageWriteError with the reason.
void write_png(const std::string& path, const Frame& frame, const std::string& protect = "");

}  // namespace edgederain::cli
