"""Objectives of the latent-space variants: ClusterGAN, the supervised GM-GANs, MMGAN."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.nn import softplus

from jaxgan import regularizers
from jaxgan.objectives.adversarial import bce, wgan_gp
from jaxgan.objectives.core import Objective, _positive, class_ce, d_real_fake
from jaxgan.priors import Prior


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
        d_loss, g_loss, d_outputs=num_classes + 1, realness=realness, data_classes=num_classes,
        calibrated=True,
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


def mmgan(prior: Prior, alpha: float = 1.0) -> Objective:
    """MMGAN as team 003's report prints it ("Algorithm 1", `latent_priors.md` §3.0).

    The critic C scores an image alone. Each real x_r is paired with x_f = G([z | p_E(x_r)]): the
    same noise, with E's class probabilities of x_r in place of the prior's one-hot; ctx.fake is
    x_f^p = G([z | y^p]), y^p the prior's uniform one-hot. C: −mean log s(C(x_r) − C(x_f)); G and
    E together: −mean log s(C(x_f) − C(x_r)) − α·mean log p_E(y^p | x_f^p).
    """
    _need_labels(prior, "mmgan")
    _positive(alpha=alpha)
    k = prior.num_classes

    def inferred_fakes(ctx):
        probs = jax.nn.softmax(ctx.net("enc", ctx.real)["logits"])
        return ctx.net("g", jnp.concatenate([ctx.z[:, :-k], probs], 1))

    def critic(ctx, fake):
        real_out, fake_out = d_real_fake(ctx, fake=fake)
        return real_out["logit"], fake_out["logit"]

    def d_loss(ctx):
        c_r, c_f = critic(ctx, jax.lax.stop_gradient(inferred_fakes(ctx)))
        return jnp.mean(softplus(-(c_r - c_f))), {
            "real_logit": jnp.mean(c_r),
            "fake_logit": jnp.mean(c_f),
        }

    def g_loss(ctx):
        c_r, c_f = critic(ctx, inferred_fakes(ctx))
        enc_logits = ctx.net("enc", ctx.fake)["logits"]
        ce = class_ce(enc_logits, ctx.aux["label"])
        acc = jnp.mean(jnp.argmax(enc_logits, -1) == ctx.aux["label"])
        return jnp.mean(softplus(-(c_f - c_r))) + alpha * ce, {"enc_ce": ce, "enc_acc": acc}

    return Objective(d_loss, g_loss, encoder=(0, k))
