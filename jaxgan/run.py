"""One saved run, opened once: what sampling, evaluation, the samplers and the plots read.

`Run.open(workdir)` reads the run's `config.json`, builds its networks and prior, and restores
the newest intact checkpoint into an abstract state (`jax.eval_shape`: no optimiser state is
computed, no train step is built or compiled, no frozen network is loaded). A population's member
comes back as the single run it equals.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import ml_collections
from jax.sharding import SingleDeviceSharding

from jaxgan import checkpoint, datasets, population, variants
from jaxgan.config import load_config
from jaxgan.optim import optimizers
from jaxgan.state import TrainState, for_sampling, g_name


@dataclasses.dataclass(frozen=True)
class Run:
    """A restored run. `state.params["g"]` is the G every reader samples: G's EMA where the run
    keeps one, G itself with `raw_g` (`jaxgan.state.for_sampling`)."""

    workdir: Path
    config: ml_collections.ConfigDict
    model: variants.Model
    state: TrainState
    member: int | None = None
    raw_g: bool = False

    @classmethod
    def open(cls, workdir: str | Path, member: int | None = None, raw_g: bool = False) -> Run:
        """The run in `workdir`, or member `member` of the population it holds."""
        config = load_config(Path(workdir))
        population.check_member(config, member)
        return cls._members(Path(workdir), config, [member], raw_g)[0]

    @classmethod
    def open_members(cls, workdir: str | Path, raw_g: bool = False) -> list[Run]:
        """Every member of the population in `workdir` (a plain run: itself), from one restore."""
        config = load_config(Path(workdir))
        n = population.size(config)
        return cls._members(Path(workdir), config, list(range(n)) if n > 1 else [None], raw_g)

    @classmethod
    def _members(cls, workdir: Path, config, members: list, raw_g: bool) -> list[Run]:
        if not checkpoint.has_checkpoint(workdir):
            raise FileNotFoundError(f"{workdir / 'checkpoints'}: no checkpoint to sample from")
        mngr = checkpoint.manager(workdir, config.keep_checkpoints, create=False)
        try:
            num_images = checkpoint.saved_shape(mngr, "perm")[-1]
            model = variants.build(config, datasets.get(config.dataset).data_dim)
            state, _ = checkpoint.restore_latest(mngr, _abstract_state(config, model, num_images))
        finally:
            mngr.close()
        if population.size(config) == 1:
            return [cls(workdir, config, model, for_sampling(state, raw_g), members[0], raw_g)]
        return [cls(workdir, population.member_config(config, m), model,
                    for_sampling(population.select(state, m), raw_g), m, raw_g) for m in members]

    def generate(self, z) -> jax.Array:
        """G(z) with the sampling G."""
        return self.model.nets["g"].apply(self.state.params["g"], z)

    def sample_prior(self, key, n: int, labels=None):
        """`n` latents of the run's (trained) prior, and their component labels (or None)."""
        return self.model.prior.sample(self.state.params["prior"], key, n, labels)

    def describe(self, num_samples: int, seed: int) -> str:
        """How its samples were drawn, for reports: `<workdir>[ member i] (n samples, seed s[, the
        G used])`; the G is named only for a run that keeps an EMA of it."""
        which = g_name(self.config, self.raw_g)
        who = "" if self.member is None else f" member {self.member}"
        return (f"{self.workdir}{who} ({num_samples} samples, seed {seed}"
                + (f", {which})" if which else ")"))


def _abstract_state(config, model, num_images: int) -> TrainState:
    """The shapes and dtypes of the run's state, on one device, without computing any of it."""
    opt = optimizers(config, num_images, model.trained)
    shapes = jax.eval_shape(lambda: population.create_state(config, model, opt, num_images))
    sharding = SingleDeviceSharding(jax.devices()[0])
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding),
                        shapes)
