"""Objectives: what D and G (with the networks G's loss trains) minimise, as pure functions.

An objective is `d_loss(ctx)` and `g_loss(ctx)`, each returning `(loss, metrics)`, over one
`Context`: the parameters of every network (the one being differentiated included), the real batch
with its labels, the fakes with the z and the prior's `aux` that made them, a key, and the frozen
networks. It also says what networks it needs: D's outputs, an encoder, D's extra inputs.
Penalties are loss terms composed into `d_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.nn import softplus

from jaxgan import losses, registry, regularizers
from jaxgan.priors import Prior


class Context(NamedTuple):
    params: dict  # network name -> params
    apply: dict  # network name -> fn(params, x)
    real: jax.Array  # (B, D) in the networks' input range
    labels: jax.Array  # (B,) int32: the real samples' classes (MNIST digits, toy modes)
    fake: jax.Array  # (B, D) = G(z)
    z: jax.Array
    aux: dict  # from the prior's sample: "label", ...
    key: jax.Array
    frozen: Any = None  # networks the step is given, not trained or checkpointed

    def net(self, name: str, x):
        return self.apply[name](self.params[name], x)


class Objective(NamedTuple):
    d_loss: Callable[[Context], tuple[jax.Array, dict]]
    g_loss: Callable[[Context], tuple[jax.Array, dict]]
    d_outputs: int = 1
    san: bool = False  # D has SAN's last layer
    encoder: tuple[int, int] | None = None  # (noise_dim, num_classes) of E's outputs
    d_extra_inputs: int = 0  # D sees [x | y] with y this wide
    data_classes: int = 0  # > 0: D learns the real labels, which must be below this
    realness: Callable[[dict], jax.Array] = lambda out: out["logit"]


def d_real_fake(ctx: Context, real=None, fake=None):
    """D's outputs on the real and fake batches, from one call on their concatenation."""
    real = ctx.real if real is None else real
    fake = ctx.fake if fake is None else fake
    out = ctx.net("d", jnp.concatenate([real, fake]))
    n = real.shape[0]
    return jax.tree.map(lambda o: o[:n], out), jax.tree.map(lambda o: o[n:], out)


def class_ce(logits, labels):
    """Mean softmax cross-entropy of integer labels."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


# ---------------------------------------------------------------- adversarial losses


def _positive(**values):
    for name, v in values.items():
        if v < 0:
            raise ValueError(f"objective.{name}={v!r}: must be >= 0")


def adversarial(d_fn, g_fn, penalties=()) -> Objective:
    """A loss pair of D's outputs (`jaxgan.losses`) plus `(weight, penalty)` terms on D's logit."""

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        loss = d_fn(real_out, fake_out)
        logit = lambda x: ctx.net("d", x)["logit"]
        keys = jax.random.split(ctx.key, max(len(penalties), 1))
        for (weight, penalty), k in zip(penalties, keys, strict=False):
            loss = loss + weight * penalty(logit, ctx.real, ctx.fake, k)
        return loss, {
            "real_logit": jnp.mean(real_out["logit"]),
            "fake_logit": jnp.mean(fake_out["logit"]),
        }

    def g_loss(ctx):
        return g_fn(ctx.net("d", ctx.fake)), {}

    return Objective(d_loss, g_loss)


def bce(prior: Prior) -> Objective:
    """Non-saturating GAN (the course template)."""
    return adversarial(losses.bce_d, losses.bce_g)


def wgan_gp(prior: Prior, gp_weight: float = 10.0) -> Objective:
    """Wasserstein critic with the gradient penalty (per-sample interpolates)."""
    _positive(gp_weight=gp_weight)
    return adversarial(
        losses.wasserstein_d, losses.wasserstein_g, ((gp_weight, regularizers.gradient_penalty),)
    )


def hinge(prior: Prior) -> Objective:
    return adversarial(losses.hinge_d, losses.hinge_g)


_SAN_LOSSES = {
    "hinge": (losses.san_hinge_d, losses.hinge_g),
    "bce": (losses.san_bce_d, losses.bce_g),
}


def san(prior: Prior, loss: str = "hinge") -> Objective:
    """SAN: D's last layer trained on the `loss` ("hinge" or "bce") and the direction separately."""
    if loss not in _SAN_LOSSES:
        raise ValueError(f"objective.loss={loss!r}: valid: {', '.join(sorted(_SAN_LOSSES))}")
    return adversarial(*_SAN_LOSSES[loss])._replace(san=True)


_ADVERSARIAL = {"bce": bce, "wgan_gp": wgan_gp, "hinge": hinge}


# ---------------------------------------------------------------- latent-space objectives


def _need_labels(prior: Prior, what: str, num_classes: int | None = None):
    if prior.num_classes == 0:
        raise ValueError(f"objective {what} needs a prior with labelled components, not this one")
    if num_classes is not None and num_classes != prior.num_classes:
        raise ValueError(
            f"objective.num_classes={num_classes} does not match the prior's "
            f"{prior.num_classes} components: D's head has one class per component (+ fake)"
        )


def clustergan(
    prior: Prior,
    adversarial: str = "wgan_gp",
    gp_weight: float = 10.0,
    beta_n: float = 10.0,
    beta_c: float = 10.0,
) -> Objective:
    """ClusterGAN: an adversarial pair (WGAN-GP as the official code, or the teams' "bce") and,
    for G with the encoder E, βn·mean((z_n − ẑ_n)²) + βc·CE(ℓ, k) on the fakes
    (`latent_priors.md` §1.3)."""
    _need_labels(prior, "clustergan")
    if adversarial not in ("wgan_gp", "bce"):
        raise ValueError(f"objective.adversarial={adversarial!r}: valid: bce, wgan_gp")
    _positive(beta_n=beta_n, beta_c=beta_c)
    base = wgan_gp(prior, gp_weight) if adversarial == "wgan_gp" else bce(prior)
    noise_dim = prior.latent_dim - prior.num_classes

    def g_loss(ctx):
        adv, _ = base.g_loss(ctx)
        enc = ctx.net("enc", ctx.fake)
        mse = jnp.mean((ctx.aux["noise"] - enc["noise"]) ** 2)
        ce = class_ce(enc["logits"], ctx.aux["label"])
        acc = jnp.mean(jnp.argmax(enc["logits"], -1) == ctx.aux["label"])
        loss = adv + beta_n * mse + beta_c * ce
        return loss, {"g_adv": adv, "enc_mse": mse, "enc_ce": ce, "enc_acc": acc}

    return base._replace(g_loss=g_loss, encoder=(noise_dim, prior.num_classes))


def gm_supervised(prior: Prior, num_classes: int = 10) -> Objective:
    """Supervised GM-GAN (§2.4): D has K + 1 softmax outputs (K classes, then fake).

    D: CE(D(x), y) + CE(D(G(z_k)), K); G (and a dynamic prior): CE(D(G(z_k)), k).
    """
    _need_labels(prior, "gm_supervised", num_classes)
    fake_class = num_classes

    def realness(out):  # log-odds of "some real class" against "fake"
        return jax.nn.logsumexp(out["logits"][:, :fake_class], -1) - out["logits"][:, fake_class]

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        fake_label = jnp.full(ctx.fake.shape[:1], fake_class)
        loss = class_ce(real_out["logits"], ctx.labels) + class_ce(fake_out["logits"], fake_label)
        return loss, {
            "real_logit": jnp.mean(realness(real_out)),
            "fake_logit": jnp.mean(realness(fake_out)),
            "real_class_acc": jnp.mean(jnp.argmax(real_out["logits"], -1) == ctx.labels),
        }

    def g_loss(ctx):
        out = ctx.net("d", ctx.fake)
        return class_ce(out["logits"], ctx.aux["label"]), {
            "fake_class_acc": jnp.mean(jnp.argmax(out["logits"], -1) == ctx.aux["label"])
        }

    return Objective(
        d_loss, g_loss, d_outputs=num_classes + 1, realness=realness, data_classes=num_classes
    )


def gm_wgan_gp(
    prior: Prior, num_classes: int = 10, gp_weight: float = 10.0, class_weight: float = 1.0
) -> Objective:
    """Supervised GM-GAN with WGAN-GP losses: D outputs a critic value and K class logits
    (AC-GAN style). D: W-loss + GP + w·CE(class(x), y) on real data; G: −C(G(z_k)) +
    w·CE(class(G(z_k)), k). jaxgan's reading of the seed slides, which give no formula."""
    _need_labels(prior, "gm_wgan_gp", num_classes)
    _positive(gp_weight=gp_weight, class_weight=class_weight)
    realness = lambda out: out["logits"][:, 0]

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        critic_real, critic_fake = realness(real_out), realness(fake_out)
        ce = class_ce(real_out["logits"][:, 1:], ctx.labels)
        gp = regularizers.gradient_penalty(
            lambda x: realness(ctx.net("d", x)), ctx.real, ctx.fake, ctx.key
        )
        loss = jnp.mean(critic_fake) - jnp.mean(critic_real) + gp_weight * gp + class_weight * ce
        return loss, {
            "real_logit": jnp.mean(critic_real),
            "fake_logit": jnp.mean(critic_fake),
            "real_class_acc": jnp.mean(jnp.argmax(real_out["logits"][:, 1:], -1) == ctx.labels),
        }

    def g_loss(ctx):
        out = ctx.net("d", ctx.fake)
        ce = class_ce(out["logits"][:, 1:], ctx.aux["label"])
        return -jnp.mean(realness(out)) + class_weight * ce, {"fake_class_ce": ce}

    return Objective(
        d_loss, g_loss, d_outputs=1 + num_classes, realness=realness, data_classes=num_classes
    )


def _straight_through_one_hot(logits):
    """The one-hot of argmax with the softmax's gradient."""
    soft = jax.nn.softmax(logits)
    hard = jax.nn.one_hot(jnp.argmax(logits, -1), logits.shape[-1])
    return soft + jax.lax.stop_gradient(hard - soft)


def mmgan(prior: Prior, alpha: float = 1.0) -> Objective:
    """MMGAN, reconstructed from the abstract (`latent_priors.md` §3.1; experimental).

    A clustering net E(x) gives class logits; the critic C sees pairs [x | y]: real (x_r, one-hot
    of E(x_r), straight-through) and fake (G(z, y^p), y^p). Relativistic standard losses
    C: BCE(c_r − c_f, 1); G with E: BCE(c_f − c_r, 1) + α·CE(E(x_f), y^p).
    """
    _need_labels(prior, "mmgan")
    _positive(alpha=alpha)
    k = prior.num_classes

    def pairs(ctx):
        y_real = _straight_through_one_hot(ctx.net("enc", ctx.real)["logits"])
        y_fake = jax.nn.one_hot(ctx.aux["label"], k)
        real_out, fake_out = d_real_fake(
            ctx,
            jnp.concatenate([ctx.real, y_real], 1),
            jnp.concatenate([ctx.fake, y_fake], 1),
        )
        return real_out["logit"], fake_out["logit"]

    def d_loss(ctx):
        ctx = ctx._replace(params=ctx.params | {"enc": jax.lax.stop_gradient(ctx.params["enc"])})
        c_r, c_f = pairs(ctx)
        return jnp.mean(softplus(-(c_r - c_f))), {
            "real_logit": jnp.mean(c_r),
            "fake_logit": jnp.mean(c_f),
        }

    def g_loss(ctx):
        c_r, c_f = pairs(ctx)
        ce = class_ce(ctx.net("enc", ctx.fake)["logits"], ctx.aux["label"])
        return jnp.mean(softplus(-(c_f - c_r))) + alpha * ce, {"enc_ce": ce}

    return Objective(d_loss, g_loss, encoder=(0, k), d_extra_inputs=k)


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    **_ADVERSARIAL,
    "san": san,
    "clustergan": clustergan,
    "gm_supervised": gm_supervised,
    "gm_wgan_gp": gm_wgan_gp,
    "mmgan": mmgan,
}


def build(fields, prior: Prior) -> Objective:
    """The objective of a `config.objective` subtree for `prior`; a wrong field is one line."""
    return registry.build("objective", OBJECTIVES, fields, prior=prior)
