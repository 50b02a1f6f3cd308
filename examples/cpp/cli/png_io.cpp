// libpng's low-level API, with no colour or gamma transform beyond palette expansion and dropping
// alpha, so pixels come out as stored (as Pillow reads them for the Python runtime). libpng reports
// errors by longjmp: the functions that call setjmp hold only trivially destructible locals.
#include "png_io.hpp"

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace edgederain::cli {
namespace {

namespace fs = std::filesystem;

struct PngError {
  char message[512] = "";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* err = static_cast<PngError*>(png_get_error_ptr(png));
  std::snprintf(err->message, sizeof err->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

struct Reader {
  std::FILE* file = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngError err;
  ~Reader() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    if (file) std::fclose(file);
  }
};

bool read_header(Reader* r) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  png_init_io(r->png, r->file);
  png_set_sig_bytes(r->png, 8);
  png_read_info(r->png, r->info);
  return true;
}

bool read_rows(Reader* r, png_bytep* rows, bool palette, bool alpha) {
  if (setjmp(png_jmpbuf(r->png))) return false;
  if (palette) png_set_palette_to_rgb(r->png);  // also expands 1/2/4-bit indices; tRNS is ignored
  if (alpha) png_set_strip_alpha(r->png);
  png_set_interlace_handling(r->png);
  png_read_update_info(r->png, r->info);
  png_read_image(r->png, rows);
  png_read_end(r->png, nullptr);
  return true;
}

void open_checked(Reader& r, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ImageReadError(path + ": no such file");
  if (fs::is_directory(path, ec)) throw ImageReadError(path + ": is a folder, not an image");
  if (fs::file_size(path, ec) == 0 && !ec) throw ImageReadError(path + ": file is empty (0 bytes)");
  r.file = std::fopen(path.c_str(), "rb");
  if (!r.file) throw ImageReadError(path + ": cannot open (" + std::strerror(errno) + ")");
  unsigned char sig[8] = {};
  if (std::fread(sig, 1, 8, r.file) != 8 || png_sig_cmp(sig, 0, 8) != 0)
    throw ImageReadError(path + ": not a PNG file (this example reads PNG only; convert the image first)");
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.err, on_error, on_warning);
  if (r.png) r.info = png_create_info_struct(r.png);
  if (!r.png || !r.info) throw ImageReadError(path + ": libpng could not start (out of memory)");
}

}  // namespace

LoadedPng read_png(const std::string& path, long long max_pixels) {
  Reader r;
  open_checked(r, path);
  if (!read_header(&r)) throw ImageReadError(path + ": corrupt or truncated PNG (" + r.err.message + ")");
  const png_uint_32 w = png_get_image_width(r.png, r.info), h = png_get_image_height(r.png, r.info);
  const int color = png_get_color_type(r.png, r.info), depth = png_get_bit_depth(r.png, r.info);
  if (!(color & PNG_COLOR_MASK_COLOR))
    throw ImageReadError(path + ": grayscale PNG; the model takes 8-bit RGB frames: convert it to RGB first "
                                "(the Python CLI, edgederain derain, replicates gray to RGB)");
  if (depth == 16)
    throw ImageReadError(path + ": 16-bit-per-channel PNG; this example reads 8-bit RGB PNGs: convert it to 8 bits first");
  if (static_cast<long long>(w) * h > max_pixels)
    throw ImageReadError(path + ": " + std::to_string(w) + "x" + std::to_string(h) + " is more than the limit of " +
                         std::to_string(max_pixels) + " pixels (--max-pixels)");
  LoadedPng out;
  const bool palette = color == PNG_COLOR_TYPE_PALETTE;
  const bool alpha = (color & PNG_COLOR_MASK_ALPHA) != 0;
  if (palette) out.notes.push_back("P converted to RGB");
  if (alpha) out.notes.push_back("RGBA: alpha channel discarded");
  if (palette && png_get_valid(r.png, r.info, PNG_INFO_tRNS)) out.notes.push_back("P: transparency discarded");
  out.frame.h = static_cast<int>(h);
  out.frame.w = static_cast<int>(w);
  out.frame.rgb.resize(static_cast<std::size_t>(w) * h * 3);
  std::vector<png_bytep> rows(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = out.frame.rgb.data() + static_cast<std::size_t>(y) * w * 3;
  if (!read_rows(&r, rows.data(), palette, alpha))
    throw ImageReadError(path + ": corrupt or truncated PNG (" + r.err.message + ")");
  return out;
}

namespace {

struct Writer {
  std::FILE* file = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngError err;
  ~Writer() {
    if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    if (file) std::fclose(file);
  }
};

bool write_rows(Writer* wr, const Frame* f, png_bytep* rows) {
  if (setjmp(png_jmpbuf(wr->png))) return false;
  png_init_io(wr->png, wr->file);
  png_set_IHDR(wr->png, wr->info, static_cast<png_uint_32>(f->w), static_cast<png_uint_32>(f->h), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(wr->png, wr->info);
  png_write_image(wr->png, rows);
  png_write_end(wr->png, nullptr);
  return true;
}

}  // namespace

void write_png(const std::string& path, const Frame& frame, const std::string& protect) {
  std::error_code ec;
  if (!protect.empty() && fs::exists(path, ec) && fs::equivalent(path, protect, ec))
    throw ImageWriteError(path + ": refusing to overwrite an input file; choose another output");
  const fs::path folder = fs::absolute(path, ec).parent_path();
  if (!fs::is_directory(folder, ec)) throw ImageWriteError(path + ": output folder " + folder.string() + " does not exist");
  if (frame.h <= 0 || frame.w <= 0 || frame.rgb.size() != static_cast<std::size_t>(frame.h) * frame.w * 3)
    throw ImageWriteError(path + ": expected an H x W x 3 frame, got " + std::to_string(frame.h) + "x" +
                          std::to_string(frame.w) + " with " + std::to_string(frame.rgb.size()) + " bytes");
  const std::string tmp = (folder / ("." + fs::path(path).filename().string() + ".tmp" + std::to_string(getpid()))).string();
  {
    Writer wr;
    wr.file = std::fopen(tmp.c_str(), "wb");
    if (!wr.file) throw ImageWriteError(path + ": output folder " + folder.string() + " is not writable (" + std::strerror(errno) + ")");
    wr.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &wr.err, on_error, on_warning);
    if (wr.png) wr.info = png_create_info_struct(wr.png);
    std::vector<png_bytep> rows(static_cast<std::size_t>(frame.h));
    for (int y = 0; y < frame.h; ++y)
      rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(frame.rgb.data()) + static_cast<std::size_t>(y) * frame.w * 3;
    const bool ok = wr.png && wr.info && write_rows(&wr, &frame, rows.data());
    const bool closed = std::fclose(wr.file) == 0;
    wr.file = nullptr;
    if (!ok || !closed) {
      fs::remove(tmp, ec);
      throw ImageWriteError(path + ": could not write (" + (ok ? std::string(std::strerror(errno)) : wr.err.message) + ")");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(tmp, ec);
    throw ImageWriteError(path + ": could not write (" + reason + ")");
  }
}

}  // namespace edgederain::cli
