"""Image sets for the evaluator: MNIST splits, folders of images and .npz arrays, as uint8.

Image sources (`--samples`, `--reference`):

* `mnist_train`, `mnist_test`: real MNIST digits. As samples, the first `num_samples` of the split
  in file order (so `mnist_train` is train[:N], the real-vs-real floor of metrics.md §7); as the
  reference, the whole split.
* a folder: the image files directly in it (bmp, jpg, jpeg, pgm, png, ppm, tif, tiff, webp; any
  case), sorted by name as pytorch-fid does, the first `num_samples` of them as samples, all of
  them as the reference. Any size or mode: for the classifier each is converted by Pillow to gray
  ("L") and, if it is not 28×28, resized bilinearly to 28×28; for Inception it is converted to RGB
  as read (all files must then share one size).
* a `.npz` file with an array `images`: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3};
  uint8 as is, other integers if within [0, 255], floats quantised like a PNG save,
  u8 = clip(floor(v·255 + 0.5), 0, 255) with v = x for floats in [0, 1] and v = (x + 1)/2 when any
  value is negative (floats in [-1, 1]). Same `num_samples` rule as folders.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from jaxgan.data.mnist import load_mnist
from jaxgan.eval.features import GRAY
from jaxgan.pixels import IMAGE_SHAPE

MNIST_SOURCES = {"mnist_train": "train", "mnist_test": "test"}
IMAGE_EXTENSIONS = (".bmp", ".jpg", ".jpeg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")


class EvaluationError(ValueError):
    """Bad evaluation input (missing or empty source, malformed array); the message says which."""


@dataclass(frozen=True)
class ImageSet:
    """Images in the two forms extractors take: gray (N, 28, 28) and as read (or None)."""

    description: str
    gray: np.ndarray
    rgb: np.ndarray | None

    def __len__(self) -> int:
        return self.gray.shape[0]

    def form(self, image_form: str) -> np.ndarray:
        if image_form == GRAY:
            return self.gray
        if self.rgb is None:
            raise EvaluationError(f"{self.description}: images as read were not loaded")
        return self.rgb


def quantize(images: np.ndarray) -> np.ndarray:
    """uint8 images from uint8, integer [0, 255] or float [0, 1] / [-1, 1] arrays (module doc)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.integer):
        if images.min() < 0 or images.max() > 255:
            raise EvaluationError(
                f"integer images must lie in [0, 255], got [{images.min()}, {images.max()}]"
            )
        return images.astype(np.uint8)
    if not np.issubdtype(images.dtype, np.floating):
        raise EvaluationError(f"images must be uint8, integer or float, got dtype {images.dtype}")
    values = images.astype(np.float64)
    if not np.isfinite(values).all():
        raise EvaluationError("float images contain NaN or Inf")
    low, high = values.min(), values.max()
    tolerance = 1e-6
    if low < 0:
        if low < -1 - tolerance or high > 1 + tolerance:
            raise EvaluationError(
                f"float images with negatives must lie in [-1, 1], got [{low}, {high}]"
            )
        values = (values + 1) / 2
    elif high > 1 + tolerance:
        raise EvaluationError(
            f"float images must lie in [0, 1] or [-1, 1], got [{low}, {high}]; save uint8 instead"
        )
    return np.clip(np.floor(values * 255 + 0.5), 0, 255).astype(np.uint8)


def _channels_last(images: np.ndarray, name: str) -> np.ndarray:
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = np.moveaxis(images, 1, -1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise EvaluationError(
            f"{name}: images must be (N, H, W), (N, H, W, 1|3) or (N, 1|3, H, W), "
            f"got shape {images.shape}"
        )
    return images


def to_gray28(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) for the classifier: Pillow "L" conversion and bilinear resize if needed."""
    if images.ndim == 3 and images.shape[1:] == IMAGE_SHAPE:
        return images
    out = np.empty((images.shape[0], *IMAGE_SHAPE), np.uint8)
    for i, image in enumerate(images):
        out[i] = _gray28(Image.fromarray(image))
    return out


def _gray28(image) -> np.ndarray:
    gray = image.convert("L")
    if gray.size != IMAGE_SHAPE[::-1]:
        gray = gray.resize(IMAGE_SHAPE[::-1], Image.BILINEAR)
    return np.asarray(gray, np.uint8)


def _load_folder(folder: Path, limit: int | None, want_rgb: bool) -> ImageSet:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise EvaluationError(
            f"{folder}: no image files ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) in the folder"
        )
    files = files[:limit]
    gray = np.empty((len(files), *IMAGE_SHAPE), np.uint8)
    rgb = []
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                image.load()
                gray[i] = _gray28(image)
                if want_rgb:
                    rgb.append(np.asarray(image.convert("RGB"), np.uint8))
        except (OSError, UnidentifiedImageError) as e:
            raise EvaluationError(f"{path}: not a readable image ({e})") from e
    if want_rgb and len({a.shape for a in rgb}) > 1:
        raise EvaluationError(f"{folder}: images differ in size; Inception needs one size")
    return ImageSet(f"{folder} ({len(files)} images)", gray, np.stack(rgb) if want_rgb else None)


def _load_npz(path: Path, limit: int | None, want_rgb: bool) -> ImageSet:
    if not zipfile.is_zipfile(path):
        raise EvaluationError(f"{path}: not an .npz archive (as written by numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            images = archive["images"] if "images" in names else None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise EvaluationError(f"{path}: not a readable .npz file ({e})") from e
    if images is None:
        raise EvaluationError(
            f"{path}: no array named 'images' (found: {', '.join(names) or 'none'})"
        )
    images = _channels_last(quantize(images[:limit]), str(path))
    if images.shape[0] == 0:
        raise EvaluationError(f"{path}: 'images' holds no images")
    return ImageSet(
        f"{path} ({images.shape[0]} images)", to_gray28(images), images if want_rgb else None
    )


def load_images(
    source: str,
    num_samples: int | None = None,
    data_dir: str | None = None,
    want_rgb: bool = False,
) -> ImageSet:
    """Images from `mnist_train` / `mnist_test`, a folder or an .npz (module doc); at most
    `num_samples` of them (None: all)."""
    if source in MNIST_SOURCES:
        images, _ = load_mnist(data_dir, MNIST_SOURCES[source])
        images = images[:num_samples]
        return ImageSet(f"{source} ({images.shape[0]} images)", images, images)
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_folder(path, num_samples, want_rgb)
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise EvaluationError(f"{path}: expected a folder of images or an .npz file")
        return _load_npz(path, num_samples, want_rgb)
    raise EvaluationError(
        f"{source}: no such folder or file (give a folder of images, an .npz with 'images', "
        f"or one of {', '.join(MNIST_SOURCES)})"
    )
