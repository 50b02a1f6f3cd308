#!/usr/bin/env bash
# Fetch what the C++ example (examples/cpp) compiles and links against into one git-ignored folder,
# without installing anything system-wide. Cached: a second run only checks what is there.
#
#   ONNX Runtime shared library  the PyPI `onnxruntime` wheel: the one in .venv (the library the
#                                Python DerainSession runs on), else `pip download` of the wheel
#   ONNX Runtime C/C++ headers   Debian trixie's libonnxruntime-dev .deb, unpacked with dpkg-deb -x
#                                (bookworm has no onnxruntime; trixie's library itself needs a newer
#                                glibc, so only its headers are used)
#   nlohmann-json, libpng        the system's headers when installed, else Debian bookworm's -dev
#                                .debs unpacked the same way
#
# Debian packages come through apt-get with a private state folder (its own sources list, package
# lists, cache and an empty dpkg status), so the system's apt configuration is not changed.
#
# Usage: scripts/fetch_ort_cpp.sh [DEPS_DIR]          (default: build/cpp/deps)
#   EDGEDERAIN_PYTHON          Python whose onnxruntime to take (default .venv/bin/python, then python3)
#   EDGEDERAIN_ORT_VERSION     onnxruntime version for `pip download` when no Python has it
#   EDGEDERAIN_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   EDGEDERAIN_IGNORE_SYSTEM=1 unpack nlohmann-json and libpng even when the system has them (to try
#                              what a machine without them does)
# Writes DEPS_DIR/deps.cmake (pass it to cmake with -C) and DEPS_DIR/versions.txt.
# Exit status: 0 ready; 1 failed; 3 a package archive (PyPI or Debian) could not be reached, or the
# machine has no apt-get/dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEPS=${1:-build/cpp/deps}
mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
MIRROR=${EDGEDERAIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
SYS=/usr
[ "${EDGEDERAIN_IGNORE_SYSTEM:-0}" = 1 ] && SYS=/nonexistent

say() { echo "fetch_ort_cpp: $*" >&2; }
unreachable() { say "$*"; exit 3; }
fail() { say "$*"; exit 1; }

# --- Debian packages through a private apt state -------------------------------------------------
APT_DIR=$DEPS/apt
apt_opts() {
  local o=(-q -o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::Etc::preferencesparts=$APT_DIR/preferences.d" -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache" -o "Dir::State::status=$APT_DIR/status"
    -o Debug::NoLocking=1 -o Acquire::Languages=none -o APT::Update::Error-Mode=any)
  # as root apt hands downloads to the _apt user, who cannot write into this folder
  [ "$(id -u)" = 0 ] && o+=(-o APT::Sandbox::User=root)
  printf '%s\n' "${o[@]}"
}
apt_setup() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    unreachable "apt-get and dpkg-deb are needed to fetch Debian packages; this machine has no apt"
  mkdir -p "$APT_DIR"/lists/partial "$APT_DIR"/cache/archives/partial "$APT_DIR"/preferences.d "$DEPS/debs"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$MIRROR" bookworm "$keyring" "$MIRROR" trixie \
    >"$APT_DIR/sources.list.new"
  if ! cmp -s "$APT_DIR/sources.list.new" "$APT_DIR/sources.list" 2>/dev/null; then
    mv "$APT_DIR/sources.list.new" "$APT_DIR/sources.list"
    rm -f "$APT_DIR"/lists/*Packages* "$APT_DIR"/lists/*Release*
  else
    rm -f "$APT_DIR/sources.list.new"
  fi
  : >"$APT_DIR/status"
}
apt_update() {
  local opts
  mapfile -t opts < <(apt_opts)
  say "apt-get update (private lists in $APT_DIR: Debian bookworm + trixie)"
  nice -n 15 apt-get "${opts[@]}" update >"$APT_DIR/update.log" 2>&1 ||
    unreachable "cannot reach Debian's archive at $MIRROR (apt-get update failed; see $APT_DIR/update.log)"
}
# deb_fetch PACKAGE/SUITE DEST: download the .deb (once) and unpack it under DEST
deb_fetch() {
  local spec=$1 dest=$2 opts pkg=${1%%/*} deb
  mapfile -t opts < <(apt_opts)
  deb=$(ls "$DEPS"/debs/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1 || apt_update
    if ! (cd "$DEPS/debs" && apt-get "${opts[@]}" download "$spec" >>"$APT_DIR/download.log" 2>&1); then
      apt_update  # lists may be stale (the archive replaced the version); retry once
      (cd "$DEPS/debs" && apt-get "${opts[@]}" download "$spec" >>"$APT_DIR/download.log" 2>&1) || {
        grep -q "Unable to locate package\|Can't find a source\|has no installation candidate" \
          "$APT_DIR/download.log" && fail "Debian has no package $spec (see $APT_DIR/download.log)"
        unreachable "cannot download $spec from $MIRROR (see $APT_DIR/download.log)"
      }
    fi
    deb=$(ls "$DEPS"/debs/"${pkg}"_*.deb | head -n1)
  fi
  mkdir -p "$dest"
  dpkg-deb -x "$deb" "$dest"
  basename "$deb" .deb | cut -d_ -f2
}

# --- 1. the ONNX Runtime library from the PyPI wheel --------------------------------------------
ORT_LIB_DIR=$DEPS/ort/lib
PY=${EDGEDERAIN_PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
capi=""
if info=$("$PY" -c 'import onnxruntime, os; print(onnxruntime.__version__); print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))' 2>/dev/null); then
  ORT_VERSION=$(sed -n 1p <<<"$info"); capi=$(sed -n 2p <<<"$info")
  ORT_SOURCE="onnxruntime $ORT_VERSION wheel installed for $PY"
else
  ORT_VERSION=${EDGEDERAIN_ORT_VERSION:-}
  wheel_dir=$DEPS/wheel
  if ! ls "$wheel_dir"/onnxruntime-*.whl >/dev/null 2>&1; then
    say "no onnxruntime in $PY; downloading the wheel from PyPI"
    python3 -m pip download -q --no-deps --only-binary=:all: --dest "$wheel_dir" \
      "onnxruntime${ORT_VERSION:+==$ORT_VERSION}" ||
      unreachable "cannot download the onnxruntime wheel from PyPI (pip download failed)"
  fi
  whl=$(ls "$wheel_dir"/onnxruntime-*.whl | head -n1)
  rm -rf "$wheel_dir/x" && python3 -m zipfile -e "$whl" "$wheel_dir/x"
  capi=$wheel_dir/x/onnxruntime/capi
  ORT_VERSION=$(basename "$whl" | cut -d- -f2)
  ORT_SOURCE="$(basename "$whl") (pip download)"
fi
lib_src=$(ls "$capi"/libonnxruntime.so.1.* 2>/dev/null | head -n1 || true)
[ -n "$lib_src" ] || fail "$capi has no libonnxruntime.so.1.*; is this an onnxruntime wheel?"
lib_name=$(basename "$lib_src")
mkdir -p "$ORT_LIB_DIR"
for old in "$ORT_LIB_DIR"/libonnxruntime.so.1.*; do
  [ -e "$old" ] && [ "$(basename "$old")" != "$lib_name" ] && rm -f "$old"
done
cmp -s "$lib_src" "$ORT_LIB_DIR/$lib_name" || cp "$lib_src" "$ORT_LIB_DIR/$lib_name"
ln -sfn "$lib_name" "$ORT_LIB_DIR/libonnxruntime.so.1"
ln -sfn libonnxruntime.so.1 "$ORT_LIB_DIR/libonnxruntime.so"
# Provider libraries: the small shared bridge is copied; CUDA/TensorRT/OpenVINO (onnxruntime-gpu,
# onnxruntime-openvino wheels, hundreds of MB) are linked to where the wheel keeps them.
for p in "$capi"/libonnxruntime_providers_*.so; do
  [ -e "$p" ] || continue
  if [ "$(basename "$p")" = libonnxruntime_providers_shared.so ]; then
    cmp -s "$p" "$ORT_LIB_DIR/$(basename "$p")" || cp "$p" "$ORT_LIB_DIR/"
  else
    ln -sfn "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")" "$ORT_LIB_DIR/$(basename "$p")"
  fi
done

# --- 2. ONNX Runtime headers from Debian trixie ---------------------------------------------------
ORT_INC=$DEPS/ort/include
if [ -f "$ORT_INC/onnxruntime_cxx_api.h" ] && [ -f "$DEPS/ort/headers-version" ]; then
  HEADERS_VERSION=$(cat "$DEPS/ort/headers-version")
else
  apt_setup
  rm -rf "$DEPS/x/ort"
  HEADERS_VERSION=$(deb_fetch libonnxruntime-dev/trixie "$DEPS/x/ort")
  mkdir -p "$ORT_INC"
  cp -r "$DEPS"/x/ort/usr/include/onnxruntime/. "$ORT_INC/"
  echo "$HEADERS_VERSION" >"$DEPS/ort/headers-version"
fi
API_VERSION=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$ORT_INC/onnxruntime_c_api.h")
LIB_MINOR=$(cut -d. -f2 <<<"$ORT_VERSION")
[ -n "$API_VERSION" ] || fail "$ORT_INC/onnxruntime_c_api.h defines no ORT_API_VERSION"
if [ "$API_VERSION" -gt "$LIB_MINOR" ]; then
  fail "the headers ($HEADERS_VERSION, ORT_API_VERSION $API_VERSION) are newer than the library" \
    "(onnxruntime $ORT_VERSION provides API versions up to $LIB_MINOR); install onnxruntime >= 1.$API_VERSION"
fi

# --- 3. nlohmann-json and libpng: the system's, else unpacked Debian packages ----------------------
SYSROOT=$DEPS/sysroot
if [ -f $SYS/include/nlohmann/json.hpp ]; then
  JSON_INC=""; JSON_SOURCE="system (/usr/include/nlohmann)"
else
  if [ ! -f "$SYSROOT/usr/include/nlohmann/json.hpp" ]; then
    apt_setup
    deb_fetch nlohmann-json3-dev/bookworm "$SYSROOT" >"$DEPS/nlohmann-version"
  fi
  JSON_INC=$SYSROOT/usr/include; JSON_SOURCE="nlohmann-json3-dev $(cat "$DEPS/nlohmann-version") (unpacked)"
fi
sys_png_lib=$(ls $SYS/lib/"$MULTIARCH"/libpng16.so.16 2>/dev/null || true)
if [ -f $SYS/include/png.h ] && [ -n "$sys_png_lib" ]; then
  PNG_INC=/usr/include; PNG_LIB=$sys_png_lib; PNG_SOURCE="system ($PNG_LIB)"
else
  if [ ! -f "$SYSROOT/usr/include/png.h" ]; then
    apt_setup
    deb_fetch libpng-dev/bookworm "$SYSROOT" >"$DEPS/libpng-version"
  fi
  if [ -z "$sys_png_lib" ]; then
    [ -e "$SYSROOT/usr/lib/$MULTIARCH/libpng16.so.16" ] || { apt_setup; deb_fetch libpng16-16/bookworm "$SYSROOT" >/dev/null; }
    sys_png_lib=$SYSROOT/usr/lib/$MULTIARCH/libpng16.so.16
  fi
  PNG_INC=$SYSROOT/usr/include; PNG_LIB=$sys_png_lib
  PNG_SOURCE="libpng-dev $(cat "$DEPS/libpng-version") headers (unpacked), library $PNG_LIB"
fi

# --- 4. what CMake needs ----------------------------------------------------------------------------
cat >"$DEPS/deps.cmake.new" <<EOF
# Written by scripts/fetch_ort_cpp.sh; pass with cmake -C (FORCE: a re-fetch updates a configured build).
set(EDGEDERAIN_ORT_INCLUDE_DIR "$ORT_INC" CACHE PATH "ONNX Runtime C/C++ headers" FORCE)
set(EDGEDERAIN_ORT_LIBRARY "$ORT_LIB_DIR/$lib_name" CACHE FILEPATH "libonnxruntime.so.1.x" FORCE)
set(EDGEDERAIN_ORT_HEADERS_VERSION "$HEADERS_VERSION" CACHE STRING "package version of the headers" FORCE)
set(EDGEDERAIN_NLOHMANN_INCLUDE_DIR "$JSON_INC" CACHE PATH "nlohmann-json headers (empty: system)" FORCE)
set(EDGEDERAIN_PNG_INCLUDE_DIR "$PNG_INC" CACHE PATH "libpng headers" FORCE)
set(EDGEDERAIN_PNG_LIBRARY "$PNG_LIB" CACHE FILEPATH "libpng16.so.16" FORCE)
EOF
cmp -s "$DEPS/deps.cmake.new" "$DEPS/deps.cmake" 2>/dev/null && rm "$DEPS/deps.cmake.new" ||
  mv "$DEPS/deps.cmake.new" "$DEPS/deps.cmake"
cat >"$DEPS/versions.txt" <<EOF
onnxruntime library: $lib_name from $ORT_SOURCE
onnxruntime headers: libonnxruntime-dev $HEADERS_VERSION (Debian trixie), ORT_API_VERSION $API_VERSION
nlohmann-json: $JSON_SOURCE
libpng: $PNG_SOURCE
EOF
say "ready in ${DEPS#"$REPO"/}: $(tr '\n' ';' <"$DEPS/versions.txt")"
