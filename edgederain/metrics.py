"""PSNR and SSIM in numpy, on RGB and on the Y channel of BT.601 YCbCr (stdlib + numpy only).

Conventions (those of the deraining literature):

- Images are H x W x 3 RGB arrays, either ``uint8`` (0..255) or float in [0, 1]; both images of
  a pair must have the same shape. Computation is in float64.
- **Y channel**: ITU-R BT.601 "studio swing", as MATLAB's ``rgb2ycbcr`` on [0, 1] input:
  Y = 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B in [0, 1]; Y in [16, 235] for 8-bit data).
  Y is not rounded. PSNR/SSIM on Y use a peak of 255.
- **PSNR** = 10 log10(peak^2 / MSE) over all pixels and channels; identical images give +inf.
- **SSIM** (Wang et al. 2004, as MATLAB's ``ssim`` and scikit-image with
  ``gaussian_weights=True, use_sample_covariance=False``): 11 x 11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, L = peak. **Border handling:** statistics are computed only where the
  window fits entirely inside the image ("valid" filtering, no padding), i.e. the SSIM map is
  (H - 10) x (W - 10) and its mean is returned. Colour SSIM is the mean of the per-channel SSIMs.
  Images smaller than 11 x 11 are an error.
"""

from __future__ import annotations

import numpy as np

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03
_BT601 = np.array([65.481, 128.553, 24.966])


def _as_unit_float(img: np.ndarray) -> np.ndarray:
    """uint8 -> /255; float -> as is (expected in [0, 1]); returns float64."""
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"images must be uint8, uint16 or float in [0, 1], got {arr.dtype}")
    return arr.astype(np.float64)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"expected H x W or H x W x C images, got shape {a.shape}")


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image, on the 0..255 scale (16..235 for in-range input), float64."""
    rgb = _as_unit_float(img)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_y expects H x W x 3, got shape {rgb.shape}")
    return 16.0 + rgb @ _BT601


def psnr(a: np.ndarray, b: np.ndarray, *, y_channel: bool = False) -> float:
    """PSNR in dB between two images (RGB, or BT.601 Y with ``y_channel=True``)."""
    a, b = np.asarray(a), np.asarray(b)
    _check_pair(a, b)
    if y_channel:
        x, y, peak = rgb_to_y(a), rgb_to_y(b), 255.0
    else:
        x, y, peak = _as_unit_float(a), _as_unit_float(b), 1.0
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(peak * peak / mse)


def _gaussian_kernel() -> np.ndarray:
    r = np.arange(WINDOW) - WINDOW // 2
    k = np.exp(-(r**2) / (2.0 * SIGMA**2))
    return k / k.sum()


def _filter_valid(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D array with the 1-D kernel along both axes."""
    n = k.size
    h, w = img.shape
    rows = sum(k[i] * img[i : h - n + 1 + i, :] for i in range(n))
    return sum(k[j] * rows[:, j : w - n + 1 + j] for j in range(n))


def _ssim_channel(x: np.ndarray, y: np.ndarray, peak: float) -> float:
    k = _gaussian_kernel()
    c1, c2 = (K1 * peak) ** 2, (K2 * peak) ** 2
    mx, my = _filter_valid(x, k), _filter_valid(y, k)
    sxx = _filter_valid(x * x, k) - mx * mx
    syy = _filter_valid(y * y, k) - my * my
    sxy = _filter_valid(x * y, k) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def ssim(a: np.ndarray, b: np.ndarray, *, y_channel: bool = False) -> float:
    """Mean SSIM (see the module docstring for window, constants and border handling)."""
    a, b = np.asarray(a), np.asarray(b)
    _check_pair(a, b)
    if min(a.shape[0], a.shape[1]) < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {a.shape[:2]}")
    if y_channel:
        return _ssim_channel(rgb_to_y(a), rgb_to_y(b), 255.0)
    x, y = _as_unit_float(a), _as_unit_float(b)
    if x.ndim == 2:
        return _ssim_channel(x, y, 1.0)
    return float(np.mean([_ssim_channel(x[..., c], y[..., c], 1.0) for c in range(x.shape[-1])]))


def image_metrics(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM on RGB and on Y: keys ``psnr_rgb``, ``ssim_rgb``, ``psnr_y``, ``ssim_y``."""
    return {
        "psnr_rgb": psnr(output, target),
        "ssim_rgb": ssim(output, target),
        "psnr_y": psnr(output, target, y_channel=True),
        "ssim_y": ssim(output, target, y_channel=True),
    }
