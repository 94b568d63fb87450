"""Smoke runs of bin/train.py for every variant on the real MNIST, then bin/sample.py."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_optim import _parse

from jaxgan.cli import config_argv
from jaxgan.samples_io import write_samples

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / script), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )


# the CLI path is the same for every variant; these cover the plain D and an encoder with 5 critic
# steps and a labelled prior, on narrow networks (the widths are not what the CLI tests).
# tests/test_pinned_bits.py trains wgan_gp, hinge and san through the same Trainer.
NARROW = ("--config.nets.g_hidden=(64,128)", "--config.nets.d_hidden=(128,64)",
          "--config.nets.enc_hidden=(128,64)")
# the vanilla runs of these tests compile one step program between them (the session's XLA cache)
VANILLA = ("--config.steps_per_call=10", "--latent_dim=32", *NARROW[:2])


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["vanilla", "clustergan"])
def test_train_then_sample(tmp_path, variant, small_mnist):
    workdir = tmp_path / variant
    r = run("train.py", f"--variant={variant}", f"--workdir={workdir}", f"--data_dir={small_mnist}",
            "--num_steps=30", "--config.log_every=5",
            *(VANILLA if variant == "vanilla" else ("--config.steps_per_call=10",
                                                    "--latent_dim=32", *NARROW)))
    assert r.returncode == 0, r.stderr[-2000:]
    config = json.loads((workdir / "config.json").read_text())
    assert config["variant"] == variant and config["prior"]["latent_dim"] == 32
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [5, 10, 15, 20, 25, 30]
    assert all(np.isfinite(row["d_loss"]) and np.isfinite(row["g_loss"]) for row in rows)
    assert (workdir / "losses.png").is_file() and list((workdir / "grids").glob("*.png"))
    assert (workdir / "checkpoints" / "30").is_dir()

    if variant == "clustergan":  # writing the samples (below) is the same for every variant
        _clustergan_sampling_and_clustering(workdir, tmp_path)
        return

    out = tmp_path / "samples"
    r = run("sample.py", f"--workdir={workdir}", f"--out={out}", "--num_samples=12",
            "--format=both")
    assert r.returncode == 0, r.stderr[-2000:]
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted(f"{i}.png" for i in range(12))
    for i in range(12):
        img = Image.open(out / f"{i}.png")
        assert img.size == (28, 28) and img.mode == "RGB"
        a = np.asarray(img)
        assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    npz = np.load(out / "samples.npz")
    np.testing.assert_array_equal(npz["images"][3], np.asarray(Image.open(out / "3.png"))[..., 0])
    r = run("sample.py", f"--workdir={workdir}", f"--out={tmp_path / 'c'}", "--class=1")
    assert r.returncode == 1 and "--class needs a prior with labelled components" in r.stderr
    assert not (tmp_path / "c").exists()
    from jaxgan.run import Run
    from jaxgan.samplers.refine import sample_with

    opened = Run.open(workdir)
    with pytest.raises(ValueError, match="^--ddls_steps=-1: must be >= 0$"):
        sample_with(opened, 12, "ddls", {"steps": -1})  # bin/sample.py: one error line
    x, info = sample_with(opened, 12, "ddls", {"steps": 3})
    assert x.shape == (12, 784) and info["acceptance"] == 1.0
    assert "BCE-trained" in info["critic"]
    from jaxgan.generate import component_agreement, generate_raw

    for latents in ("recall", "gmm"):
        with pytest.raises(ValueError, match=f"^--{latents} needs ClusterGAN's one-hot prior, "
                                             "not 'gaussian'$"):
            generate_raw(opened, 12, latents=latents)

    assert component_agreement(opened, per_component=5) is None


def _clustergan_sampling_and_clustering(workdir, tmp_path):
    """GMM latents of one class, and the encoder's clustering scores of the test images."""
    from jaxgan.generate import component_agreement, encoder_clustering, generate_images
    from jaxgan.run import Run

    r = run("sample.py", f"--workdir={workdir}", f"--out={tmp_path / 'gmm'}", "--num_samples=12",
            "--latents=gmm", "--class=2", "--format=npz")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "gmm latents, class 2" in r.stdout
    assert np.load(tmp_path / "gmm" / "samples.npz")["images"].shape == (12, 28, 28)
    opened = Run.open(workdir)
    recall = generate_images(opened, 20, latents="recall", class_label=4)
    assert recall.shape == (20, 28, 28) and recall.dtype == np.uint8
    clusters = encoder_clustering(opened)
    for rule in ("argmax", "kmeans"):
        assert set(clusters[rule]) == {"purity", "accuracy", "nmi", "ari"}
        assert 0.1 <= clusters[rule]["accuracy"] <= clusters[rule]["purity"] <= 1.0
    agree = component_agreement(opened, per_component=20)
    assert 0.0 <= agree["digit_accuracy"] <= agree["matched_accuracy"] <= 1.0
    assert agree["matched_accuracy"] >= 0.1  # a one-to-one map always recovers at least 1/10


@pytest.mark.slow
def test_clear_errors(tmp_path):
    r = run("train.py", "--variant=nope")
    assert r.returncode != 0 and "valid: clustergan, feature_matching," in r.stderr
    assert "Traceback" not in r.stderr
    r = run("train.py", f"--data_dir={tmp_path}", f"--workdir={tmp_path / 'w'}", "--num_steps=1")
    assert r.returncode == 1 and "--data_dir" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "w").exists()  # a run that could not start leaves no workdir
    r = run("sample.py", f"--workdir={tmp_path / 'missing'}")
    assert r.returncode == 1 and "config.json" in r.stderr and "Traceback" not in r.stderr
    # a value no run can use, also through a single-dash flag: the same one-line path (the
    # in-process checks of each value are in test_checkpoint.py)
    (tmp_path / "a_file").write_text("")
    r = run("train.py", "-variant=san", "--batch_size=0", f"--workdir={tmp_path / 'a_file'}")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [
        "error: invalid config: batch_size=0 (must be an integer >= 1)"]
    from jaxgan.train import train_and_evaluate
    from jaxgan.variant_files import load_variant_config

    with pytest.raises(ValueError, match=f"--workdir={tmp_path / 'a_file'} is a file"):
        train_and_evaluate(load_variant_config("vanilla"), tmp_path / "a_file", progress=False)


def test_samples_refuse_a_folder_with_more_numbered_pngs(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    write_samples(images, tmp_path / "s", progress=False)
    write_samples(images + 1, tmp_path / "s", progress=False)  # same names: overwritten
    assert np.asarray(Image.open(tmp_path / "s" / "2.png"))[0, 0, 0] == 1
    with pytest.raises(ValueError, match="already holds 1 numbered PNGs beyond the 2.*2.png"):
        write_samples(images[:2], tmp_path / "s", progress=False)
    write_samples(images[:2], tmp_path / "s", fmt="npz", progress=False)  # no PNGs: allowed


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("train.py", ["--config.bogus=1"],
         "--config.bogus=1: no such config field; fields of config: batch_size, "),
        ("train.py", ["--config.prior.bogus=1"],
         "--config.prior.bogus=1: no such config field; fields of config.prior: latent_dim, name,"),
        ("train.py", ["--variant=clustergan", "--config.prior.latent_dim=5"],
         "prior.latent_dim: 5 must exceed its one-hot part num_classes=10"),
        ("train.py", ["--variant=gmgan_supervised", "--config.objective.num_classes=5"],
         "objective.num_classes=5 does not match the prior's 10 components"),
        ("train.py", ["--num_steps=1", "extra"], "unexpected arguments extra"),
        ("sample.py", ["--workdir=w", "more", "args"], "unexpected arguments more args"),
    ],
)
def test_flag_mistakes_are_one_line(tmp_path, script, args, expected):
    r = run(script, f"--workdir={tmp_path / 'w'}", *args)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
    assert not (tmp_path / "w").exists()


def test_the_variant_flag_is_the_config_file_flag(tmp_path):
    """`--variant=NAME` (any spelling absl takes) is ml_collections' `--config=configs/NAME.py`,
    moved first so that overrides given before it apply; no flag means vanilla."""
    configs = ROOT / "configs"
    assert config_argv(["t"]) == ["t", f"--config={configs / 'vanilla.py'}"]
    for spelled in (["--variant=san"], ["-variant=san"], ["--variant", "san"],
                    [f"--config={configs / 'san.py'}"]):
        argv = config_argv(["t", "--config.ema_decay=0.5", *spelled, "--epochs=3"])
        assert argv == ["t", f"--config={configs / 'san.py'}", "--config.ema_decay=0.5",
                        "--epochs=3"], spelled
    own = tmp_path / "mine.py"
    own.write_text("from jaxgan.variant_files import load_variant_config\n\n\ndef get_config():\n"
                   "    c = load_variant_config('wgan_gp')\n    c.seed = 7\n    return c\n")
    parsed = _parse(["t", f"--config={own}", "--config.ema_decay=0.25"])
    assert (parsed.variant, parsed.seed, parsed.ema_decay) == ("wgan_gp", 7, 0.25)
    for argv, line in [(["--variant=san", "--config=x.py"], "--variant and --config: give the "
                        "config once"), (["--config=nope.py"], "--config=nope.py: no such config"
                                         " file")]:
        r = subprocess.run([sys.executable, "-c", "import sys; from jaxgan.cli import config_argv;"
                            " config_argv(sys.argv)", *argv], capture_output=True, text=True,
                           cwd=tmp_path)
        assert r.returncode == 1 and r.stderr.strip().splitlines() == [f"error: {line}"]


def test_sample_checks_its_output_before_loading_anything(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "7.png").write_bytes(b"")
    r = run("sample.py", f"--workdir={tmp_path / 'none'}", f"--out={tmp_path / 'out'}",
            "--num_samples=5")
    assert r.returncode == 1 and "numbered PNGs beyond the 5" in r.stderr
    # a workdir with a config but no checkpoint: one line, and no empty checkpoints/ left behind
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"variant": "vanilla"}))
    r = run("sample.py", f"--workdir={tmp_path / 'run'}", "--num_samples=5")
    assert r.returncode == 1 and "no checkpoint to sample from" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json"]


@pytest.mark.slow
def test_metrics_are_complete_up_to_every_checkpoint_after_kill_9(tmp_path, small_mnist):
    """SIGKILL mid-run: every step up to the newest checkpoint is in metrics.jsonl (rows are
    fsynced before each checkpoint), and a resume then logs each later step exactly once."""
    workdir = tmp_path / "run"
    args = [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={workdir}",
            f"--data_dir={small_mnist}", "--num_steps=100000", *VANILLA,
            "--config.checkpoint_every=10", "--config.log_every=1",
            "--config.keep_checkpoints=100"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            done = list((workdir / "checkpoints").glob("*/checksums.json"))
            if len(done) >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("two checkpoints never appeared")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = max(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    steps = _loss_steps(workdir)
    assert saved >= 20 and steps[:saved] == list(range(1, saved + 1))
    r = run("train.py", f"--workdir={workdir}", f"--data_dir={small_mnist}",
            f"--num_steps={saved + 10}", *VANILLA, "--config.checkpoint_every=10",
            "--config.log_every=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert _loss_steps(workdir) == list(range(1, saved + 11))


def _loss_steps(workdir):
    """The steps of the loss rows of metrics.jsonl (not the in-loop evaluation's)."""
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [row["step"] for row in rows if not row.get("eval")]


def test_warnings_print_as_one_line():
    code = (
        "import warnings; from jaxgan.cli import one_line_warnings; one_line_warnings(); "
        "warnings.warn('weights of unknown hash')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stderr == "warning: weights of unknown hash\n"


@pytest.mark.slow
def test_train_then_sample_without_a_workdir(tmp_path, small_mnist):
    """Both default to runs/ under the cwd: train.py writes runs/<variant>, sample.py takes the
    most recently trained run there and says which."""
    def here(script, *args):
        return subprocess.run([sys.executable, str(ROOT / "bin" / script), *args],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)

    r = here("train.py", f"--data_dir={small_mnist}", "--num_steps=10", *VANILLA)
    assert r.returncode == 0, r.stderr[-2000:]
    r = here("sample.py", "--num_samples=3")
    assert r.returncode == 0, r.stderr[-2000:]
    assert ("using runs/vanilla, the most recently trained run under runs/ (pass --workdir to "
            "choose another)") in r.stderr.splitlines()
    assert sorted(p.name for p in (tmp_path / "runs" / "vanilla" / "samples").glob("*.png")) == [
        "0.png", "1.png", "2.png"]
