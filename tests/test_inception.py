"""The FID Inception port against pytorch-fid's features (tests/fixtures) and small oracles."""

from __future__ import annotations

import json
import zlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.eval import inception
from jaxgan.eval.weights import seeded_state_dict


def _readme_seeded_state_dict(shapes: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """The fixture README's seeded weights, written from the README alone."""
    out = {}
    for key, shape in shapes.items():
        rng = np.random.default_rng(zlib.crc32(key.encode("utf-8")))
        if key.endswith("num_batches_tracked"):
            out[key] = np.array(0, np.int64)
            continue
        if key.endswith("conv.weight"):
            _, fan_in_c, kh, kw = shape
            value = rng.standard_normal(shape) * np.sqrt(2 / (fan_in_c * kh * kw))
        elif key.endswith(("bn.weight", "bn.running_var")):
            value = rng.uniform(0.8, 1.2, size=shape)
        elif key.endswith(("bn.bias", "bn.running_mean")):
            value = rng.uniform(-0.1, 0.1, size=shape)
        elif key == "fc.weight":
            value = rng.standard_normal(shape) * np.sqrt(1 / 2048)
        else:
            assert key == "fc.bias", key
            value = rng.uniform(-0.1, 0.1, size=shape)
        out[key] = value.astype(np.float32)
    return out


@pytest.fixture(scope="module")
def shape_table(shared_fixture) -> dict[str, list[int]]:
    return json.loads(shared_fixture("inception_state_dict_shapes.json").read_text())


@pytest.fixture(scope="module")
def state_dict(shape_table) -> dict[str, np.ndarray]:
    return _readme_seeded_state_dict(shape_table)


@pytest.fixture(scope="module")
def params(state_dict) -> dict:
    return inception.params_from_torch_state_dict(state_dict)


@pytest.fixture(scope="module")
def parity(shared_fixture):
    with np.load(shared_fixture("inception_parity.npz")) as data:
        return dict(data)


@pytest.fixture(scope="module")
def digit_blocks(params, parity):
    return inception.block_features(params, parity["digits_u8"])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


def _centred(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float64) - np.mean(a, axis=0, dtype=np.float64)


# --- shapes and conversion -------------------------------------------------------------------


def test_state_dict_shapes_equal_the_real_file_table(shape_table):
    ours = inception.torch_state_dict_shapes()
    assert ours == {k: tuple(v) for k, v in shape_table.items()}
    floats = sum(int(np.prod(s)) for k, s in ours.items() if not k.endswith("batches_tracked"))
    assert floats == 23_885_392
    assert sum(k.endswith(".conv.weight") for k in ours) == 94


def test_library_seeded_weights_follow_the_readme(state_dict):
    ours = seeded_state_dict()
    assert ours.keys() == state_dict.keys()
    for key, value in state_dict.items():
        assert ours[key].dtype == value.dtype, key
        np.testing.assert_array_equal(ours[key], value, err_msg=key)


def test_converted_tree_matches_module_init(params):
    dummy = jnp.zeros((1, 75, 75, 3), jnp.float32)
    init = jax.eval_shape(inception.FIDInceptionV3().init, jax.random.key(0), dummy)
    chex.assert_trees_all_equal_shapes_and_dtypes(params, init)
    assert params["params"]["Mixed_6b"]["branch7x7dbl_5"]["conv"]["kernel"].shape == (
        1,
        7,
        128,
        192,
    )


def test_conversion_round_trips_bit_exactly(params, state_dict):
    back = inception.torch_state_dict_from_params(params)
    kept = {k: v for k, v in state_dict.items() if not k.endswith("batches_tracked")}
    del kept["fc.weight"], kept["fc.bias"]
    assert back.keys() == kept.keys()
    for key, value in kept.items():
        np.testing.assert_array_equal(back[key], value, err_msg=key)


def test_num_batches_tracked_is_optional(state_dict, params):
    without = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    chex.assert_trees_all_equal(inception.params_from_torch_state_dict(without), params)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda sd: sd.pop("Mixed_6e.branch7x7dbl_5.bn.running_var"), "missing: Mixed_6e"),
        (lambda sd: sd.pop("fc.bias"), "missing: fc.bias"),
        (lambda sd: sd.update({"AuxLogits.fc.weight": np.zeros(3)}), "unexpected: AuxLogits"),
        (
            lambda sd: sd.update({"Mixed_7c.branch_pool.conv.weight": np.zeros((192, 2048, 1, 2))}),
            r"wrong shape: Mixed_7c.branch_pool.conv.weight \(192, 2048, 1, 2\)",
        ),
    ],
)
def test_conversion_rejects_other_state_dicts(state_dict, edit, message):
    edited = dict(state_dict)
    edit(edited)
    with pytest.raises(inception.InceptionStateDictError, match=message):
        inception.params_from_torch_state_dict(edited)


# --- layers against numpy oracles -------------------------------------------------------------


F32_EPS = float(np.finfo(np.float32).eps)


def _conv_bn_relu_oracle(x, weight, padding, gamma, beta, mean, var):
    """torch BasicConv2d in eval mode, float64: cross-correlation, BN(eps=1e-3), ReLU.

    Also returns a bound on the float32 error of any summation order: the conv's K products
    cost at most K·u·Σ|w·x| (u = eps/2), scaled by BN, plus a few roundings of the BN itself.
    """
    (ph, pw), (_, _, kh, kw) = padding, weight.shape
    x = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    w = weight.astype(np.float64)
    y = np.einsum("nhwikl,oikl->nhwo", windows, w)
    abs_sum = np.einsum("nhwikl,oikl->nhwo", np.abs(windows), np.abs(w))
    scale = gamma / np.sqrt(var.astype(np.float64) + 1e-3)
    out = (y - mean) * scale + beta
    terms = weight[0].size
    bound = (terms + 8) * F32_EPS / 2 * ((abs_sum + np.abs(mean)) * np.abs(scale) + np.abs(beta))
    return np.maximum(out, 0), bound


@pytest.mark.parametrize(
    "name, kernel, padding",
    [("branch7x7_2", (1, 7), (0, 3)), ("branch7x7_3", (7, 1), (3, 0))],
)
def test_asymmetric_conv_layout_and_batchnorm(state_dict, name, kernel, padding):
    prefix = f"Mixed_6b.{name}"
    weight = state_dict[f"{prefix}.conv.weight"]
    bn = {k: state_dict[f"{prefix}.bn.{k}"].copy() for k in ("weight", "bias", "running_mean")}
    var = state_dict[f"{prefix}.bn.running_var"].copy()
    var[0] = 0.0  # then only eps keeps the division finite: eps 1e-3 vs 1e-5 is a 10x change
    sub = {f"{prefix}.conv.weight": weight, f"{prefix}.bn.running_var": var}
    sub.update({f"{prefix}.bn.{k}": v for k, v in bn.items()})
    full = dict(state_dict, **sub)
    tree = inception.params_from_torch_state_dict(full)
    variables = {c: tree[c]["Mixed_6b"][name] for c in ("params", "batch_stats")}
    x = np.random.default_rng(0).standard_normal((2, 9, 11, weight.shape[1])).astype(np.float32)
    layer = inception.BasicConv2d(weight.shape[0], kernel, padding=padding)
    got = np.asarray(layer.apply(variables, x))
    want, bound = _conv_bn_relu_oracle(
        x, weight, padding, bn["weight"], bn["bias"], bn["running_mean"], var
    )
    assert got.shape == want.shape == (2, 9, 11, weight.shape[0])
    # A transposed kernel or a wrong eps is off by O(1); float32 rounding stays within `bound`.
    excess = np.abs(got - want) - bound
    assert excess.max() <= 0, f"{(excess > 0).sum()} elements beyond the float32 bound"


def test_avg_pool_excludes_padding_and_max_pool_pads_with_minus_infinity():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    avg = np.asarray(inception._avg_pool_3x3(jnp.asarray(x)))[0, :, :, 0]
    assert avg[0, 0] == np.mean(x[0, :2, :2])  # corner: mean of 4
    assert avg[0, 1] == np.mean(x[0, :2, :3])  # edge: mean of 6
    assert avg[1, 1] == np.mean(x[0, :3, :3])  # interior: mean of 9
    neg = -1.0 - x
    mx = np.asarray(inception._max_pool_3x3(jnp.asarray(neg), 1))[0, :, :, 0]
    assert mx[0, 0] == -1.0 and (mx < 0).all()
    assert inception._max_pool_3x3(jnp.zeros((1, 147, 147, 2)), 2).shape == (1, 73, 73, 2)


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Half-pixel bilinear interpolation (torch align_corners=False) as an (n_out, n_in) matrix."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - (src - lo))
    np.add.at(m, (np.arange(n_out), hi), src - lo)
    return m


def test_preprocess_is_half_pixel_bilinear_then_2x_minus_1(parity):
    rgb = parity["rgb_u8"][:2]
    got = np.asarray(inception.preprocess(jnp.asarray(rgb)))
    rows, cols = _bilinear_matrix(40, 299), _bilinear_matrix(40, 299)
    want = np.einsum("ph,nhwc,qw->npqc", rows, rgb / 255.0, cols) * 2 - 1
    assert got.shape == (2, 299, 299, 3) and got.dtype == np.float32
    # Source positions computed in float32 (as torch does too) cost ~1e-5 against this float64
    # oracle; a wrong pixel-centre convention or antialiasing costs > 1e-2.
    np.testing.assert_allclose(got, want, atol=3e-5)


def test_gray_is_repeated_to_three_channels(parity):
    gray = parity["digits_u8"][:2]
    a = np.asarray(inception.preprocess(jnp.asarray(gray[..., None])))
    b = np.asarray(inception.preprocess(jnp.asarray(np.repeat(gray[..., None], 3, axis=-1))))
    assert a.shape == b.shape == (2, 299, 299, 3)
    np.testing.assert_array_equal(a[..., 1:], a[..., :1].repeat(2, axis=-1))
    # Resizing 1 or 3 channels compiles differently: each output pixel mixes 4 inputs in [0, 1]
    # (a few roundings of values <= 1), then 2x - 1; a channel mix-up is off by O(1).
    np.testing.assert_allclose(a, b, rtol=0, atol=16 * F32_EPS)


def test_input_contract():
    with pytest.raises(TypeError, match="uint8"):
        inception.pool3_features({}, np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\|3\)"):
        inception.pool3_features({}, np.zeros((1, 28, 28, 2), np.uint8))
    with pytest.raises(ValueError, match="75"):
        inception.FIDInceptionV3().init(jax.random.key(0), jnp.zeros((1, 74, 80, 3)))
    assert inception.pool3_features({}, np.zeros((0, 28, 28), np.uint8)).shape == (0, 2048)


# --- parity with pytorch-fid ------------------------------------------------------------------


def test_digits_pool3_match_pytorch_fid(digit_blocks, parity):
    feats, want = digit_blocks[3], parity["digits_pool3"]
    assert feats.shape == (6, 2048) and feats.dtype == np.float32
    assert _rel(feats, want) < 1e-5
    assert _rel(_centred(feats), _centred(want)) < 1e-3


def test_digits_block_means_match_pytorch_fid(digit_blocks, parity):
    # The reference averaged 73x73 maps in float32, which alone costs ~2e-5 on block 0.
    for i, dims in enumerate(inception.BLOCK_DIMS[:3]):
        got, want = digit_blocks[i], parity[f"digits_block{i}_mean"]
        assert got.shape == (6, dims)
        assert _rel(got, want) < 1e-4, i
        assert _rel(_centred(got), _centred(want)) < 1e-3, i


def test_rgb_pool3_match_pytorch_fid(params, parity):
    feats, want = inception.pool3_features(params, parity["rgb_u8"]), parity["rgb_pool3"]
    assert _rel(feats, want) < 1e-5
    assert _rel(_centred(feats), _centred(want)) < 1e-3


@pytest.mark.parametrize("batch_size", [1, 3, 4, 10])
def test_features_do_not_depend_on_batch_size(params, parity, digit_blocks, batch_size):
    feats = inception.pool3_features(params, parity["digits_u8"], batch_size=batch_size)
    assert _rel(feats, digit_blocks[3]) < 1e-6


def test_gray_layouts_agree_and_progress_bar_shows(params, parity, digit_blocks, capsys):
    digits = parity["digits_u8"][:2]
    feats = inception.pool3_features(params, digits[..., None], batch_size=1, progress=True)
    assert "Inception" in capsys.readouterr().err
    np.testing.assert_array_equal(feats, inception.pool3_features(params, digits, batch_size=1))
    assert _rel(feats, digit_blocks[3][:2]) < 1e-6
