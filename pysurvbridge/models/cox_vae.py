"""CoxVAE (Weber, Ingrisch, Fabritius, Bischl & Ruegamer 2021): a variational autoencoder whose
latent space also carries a linear Cox model.

The encoder gives q(z | x) = N(mu(x), diag sigma^2(x)); the decoder reconstructs x from z; a
bias-free linear head psi gives the log-hazard r = psi' z. The loss is eq. 3,
tau x mean over subjects of the negative beta-ELBO (eq. 1, :func:`pysurvbridge.losses.elbo`)
+ (1 - tau) x the Cox negative log partial likelihood divided by the number of events (eq. 2,
:func:`pysurvbridge.losses.cox_nll`, exact Efron ties) of r on the *sampled* z during
training; predictions use the posterior mean. Two Adam parameter groups with their own
learning rates (autoencoder and Cox head), as the paper's two optimizers.

**Minibatches.** The Cox term of a minibatch uses risk sets made of that batch's subjects
only: a stochastic loss whose expectation is not the full partial likelihood (the log of a
subsample sum is biased, as for DeepSurv); the bias shrinks as batches grow. A batch without
events adds 0 to the Cox part.

**Out of core.** ``fit`` also takes a re-iterable source of ``(X, time, event)`` minibatches
(e.g. :class:`pysurvbridge.data.streaming.ParquetMinibatches`); each batch's loss is the one
above. The Breslow baseline then comes from the stream too: the distinct event times are
collected during the first epoch, and one more pass after training adds, per distinct event
time, the events and the sum of exp(eta) of the subjects whose time falls from it to the next
(:class:`pysurvbridge.models.batches.StreamedBreslow`; exact, 24 bytes per distinct event time,
whatever the number of subjects).

**Case weights** (``fit(..., sample_weight=)``, in-memory data only): each subject's weight
multiplies its whole negative ELBO (reconstruction and KL; the ELBO's mean becomes the
weighted mean, :func:`pysurvbridge.losses.elbo`) and its rows in the weighted Cox partial
likelihood (per weighted event, :func:`pysurvbridge.losses.cox_nll`); the Breslow baseline
is the weighted one.

**What the paper leaves open, and our choices.** The reconstruction likelihood (we offer a
Gaussian with fixed SD ``recon_sd`` and independent Bernoullis for grey values in [0, 1], the
default for images); the architecture (the paper: four residual blocks for 64^3 volumes; here
an MLP for tabular data, or a two-layer strided conv net for square 2-D images whose side is a
multiple of 4, or the user's modules); the learning rates (the paper gives none; defaults 1e-3
for the autoencoder, 1e-4 for the head, keeping the paper's ratio of a slower head);
batching, epochs and validation (not given; the shared training loop's options); the Breslow
baseline for survival curves (ours, on the training embeddings); the traversal range (-4..4
as Fig. 3).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.losses import cox_nll, elbo
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.baseline import BreslowBaseline
from pysurvbridge.models.batches import EventTimeGrid, StreamedBreslow, iterate_batches
from pysurvbridge.models.networks import check_mlp_args, mlp

__all__ = ["CoxVAE", "CoxVAENetwork", "conv_encoder", "conv_decoder"]


def conv_encoder(image_shape: tuple[int, int], out: int, channels: Sequence[int] = (16, 32)) -> nn.Sequential:
    """(batch, H*W) -> (batch, out): strided 3x3 convolutions (each halves the side), then Linear."""
    h, w = image_shape
    layers: list[nn.Module] = [nn.Unflatten(1, (1, h, w))]
    c_in = 1
    for c in channels:
        layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU()]
        c_in, h, w = c, (h + 1) // 2, (w + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * h * w, out))


def conv_decoder(image_shape: tuple[int, int], latent: int, channels: Sequence[int] = (32, 16)) -> nn.Sequential:
    """(batch, latent) -> (batch, H*W): Linear, then transposed 4x4 convolutions (each doubles
    the side); H and W must be multiples of 2^len(channels)."""
    h, w = image_shape
    k = 2 ** len(channels)
    if h % k or w % k:
        raise InvalidParameterError(f"the conv decoder needs image sides that are multiples of {k}, but the "
                                    f"images are {h}x{w}; pass decoder=your own module")
    layers: list[nn.Module] = [nn.Linear(latent, channels[0] * (h // k) * (w // k)),
                               nn.Unflatten(1, (channels[0], h // k, w // k))]
    c_in = channels[0]
    for i, c in enumerate(list(channels[1:]) + [1]):
        layers.append(nn.ConvTranspose2d(c_in, c, 4, stride=2, padding=1))
        if i < len(channels) - 1:
            layers.append(nn.ReLU())
        c_in = c
    return nn.Sequential(*layers, nn.Flatten())


class CoxVAENetwork(nn.Module):
    """encoder: (batch, D) -> (batch, 2L) = (mu, log variance); decoder: (batch, L) -> (batch, D)
    (means, or Bernoulli logits); cox: Linear(L, 1, bias=False). ``forward(x)`` returns
    (batch, 2L) posterior means and log variances (what prediction needs)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.cox = nn.Linear(latent_dim, 1, bias=False)
        self.latent_dim = latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def split(self, encoded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        L = self.latent_dim
        if encoded.shape[1] != 2 * L:
            raise InvalidParameterError(f"the encoder must output (batch, 2 x latent_dim = {2 * L}) values, "
                                        f"but gave {tuple(encoded.shape)}")
        return encoded[:, :L], encoded[:, L:]


class CoxVAE(SurvivalModel):
    """Hazard-regularised VAE (see the module docstring for eqs. 1-3 and our choices).

    Args:
        latent_dim: L, the embedding's dimension (8 in the paper).
        tau: weight of the ELBO in eq. 3 (1 = a plain VAE, the head gets no gradient;
            0 = the Cox loss only).
        beta: weight of the KL term in eq. 1.
        encoder, decoder: "mlp", "conv" (square grey images given as rows of H*W pixels; H a
            multiple of 4) or your nn.Module ((batch, D) -> (batch, 2L) and (batch, L) -> (batch, D)).
        hidden: widths of the MLP encoder (the decoder mirrors them).
        lr_autoencoder, lr_cox: Adam learning rates of the encoder+decoder and of the Cox head.
        reconstruction: "bernoulli" (inputs in [0, 1], e.g. grey images) or "gaussian" with
            standard deviation ``recon_sd`` (tabular data, standardised by default).
        sample_latent: train the Cox head on sampled z (True, the paper) or on the mean.
        image_shape: (H, W) for "conv" (default: the square root of D).
        standardize: z-score the inputs (default: only with "gaussian").
        epochs, batch_size, weight_decay, optimizer, validation, patience, device, verbose, random_state:
            the training options (:meth:`SurvivalModel.fit`; no ``lr``: the two
            above); ``fit`` keywords of the same names override them for one call.

    After ``fit``: ``baseline_`` (Breslow on the training embeddings; from the stream for a
    streamed fit) and the loop's state (``train_time_``/``train_event_`` None when streamed).
    """

    name = "coxvae"
    _step_survival = True  # Breslow baseline on the embedding
    def __init__(self, latent_dim: int = 8, tau: float = 0.5, beta: float = 1.0, *,
                 encoder: str | nn.Module = "mlp", decoder: str | nn.Module = "mlp",
                 hidden: Sequence[int] = (64,), lr_autoencoder: float = 1e-3, lr_cox: float = 1e-4,
                 reconstruction: str = "bernoulli", recon_sd: float = 1.0, sample_latent: bool = True,
                 image_shape: tuple[int, int] | None = None, standardize: bool | None = None,
                 epochs: int = 100, batch_size: int | None = None, weight_decay: float = 0.0,
                 optimizer: str = "adam", validation=None, patience: int | None = None, device: str = "auto",
                 verbose: bool = True, random_state=0) -> None:
        self.latent_dim = latent_dim
        self.tau = tau
        self.beta = beta
        self.encoder = encoder
        self.decoder = decoder
        self.hidden = hidden
        self.lr_autoencoder = lr_autoencoder
        self.lr_cox = lr_cox
        self.reconstruction = reconstruction
        self.recon_sd = recon_sd
        self.sample_latent = sample_latent
        self.image_shape = image_shape
        self.standardize = standardize
        # no lr: CoxVAE's two learning rates are lr_autoencoder and lr_cox
        self._set_training(epochs=epochs, batch_size=batch_size, weight_decay=weight_decay, optimizer=optimizer,
                           validation=validation, patience=patience, device=device, verbose=verbose,
                           random_state=random_state)

    def _check_params(self) -> None:
        latent_dim, tau, beta = self.latent_dim, self.tau, self.beta
        if not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise InvalidParameterError(f"latent_dim must be a positive integer, but was {latent_dim!r}")
        if not (isinstance(tau, (int, float)) and 0.0 <= tau <= 1.0):
            raise InvalidParameterError(f"tau must be in [0, 1], but was {tau!r}")
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise InvalidParameterError(f"beta must be >= 0, but was {beta!r}")
        for name in ("lr_autoencoder", "lr_cox", "recon_sd"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise InvalidParameterError(f"{name} must be positive, but was {value!r}")
        if self.reconstruction not in ("gaussian", "bernoulli"):
            raise InvalidParameterError(
                f"reconstruction must be 'gaussian' or 'bernoulli', but was {self.reconstruction!r}")
        for name in ("encoder", "decoder"):
            value = getattr(self, name)
            if not (isinstance(value, nn.Module) or value in ("mlp", "conv")):
                raise InvalidParameterError(f"{name} must be 'mlp', 'conv' or a torch.nn.Module, but was {value!r}")
        if self.image_shape is not None and len(tuple(self.image_shape)) != 2:
            raise InvalidParameterError(f"image_shape must be (height, width), but was {self.image_shape!r}")
        check_mlp_args(self.hidden, 0.0, "relu")

    # ------------------------------------------------------------------ fitting
    @property
    def _standardizes(self) -> bool:
        return self.reconstruction == "gaussian" if self.standardize is None else bool(self.standardize)

    def fit(self, X, y=None, sample_weight=None, **options) -> "CoxVAE":
        """Train on ``X`` (features or flattened images) with ``y``, a SurvivalData, or a
        re-iterable source of ``(X, time, event)`` minibatches with one event per subject
        (out of core; see the module docstring). Keyword arguments as
        :meth:`SurvivalModel.fit` except ``lr`` (use ``lr_autoencoder`` and ``lr_cox``);
        ``sample_weight`` as there (see the module docstring)."""
        if "lr" in options:
            raise InvalidParameterError("CoxVAE takes its learning rates in the constructor: lr_autoencoder= and "
                                        "lr_cox= (the paper's two optimizers), not fit(lr=)")
        return super().fit(X, y, sample_weight, **options)

    def _fit(self, data, **kwargs) -> "CoxVAE":
        self.standardize_ = self._standardizes
        if not isinstance(data, SurvivalData):
            return self._fit_stream(data, **kwargs)
        if self.reconstruction == "bernoulli":
            X = np.asarray(data.X)
            bad = ((X < 0) | (X > 1)).any(axis=1)
            if bad.any():
                raise InvalidSurvivalDataError(
                    f"reconstruction='bernoulli' needs values in [0, 1] (e.g. grey images scaled to [0, 1]); rows "
                    f"{np.flatnonzero(bad)[:5].tolist()} are outside; rescale them or use reconstruction='gaussian'")
        return super()._fit(data, **kwargs)

    def _fit_stream(self, source, **kwargs) -> "CoxVAE":
        """Out-of-core training: the shared loop over the stream, then the streamed baseline."""
        if isinstance(source, (str, bytes, pd.DataFrame, np.ndarray, torch.Tensor)) or not hasattr(source, "__iter__"):
            raise InvalidParameterError(f"CoxVAE needs a SurvivalData or a re-iterable source of (X, time, event) "
                                        f"minibatches, but got {type(source).__name__}")
        if getattr(source, "n_events", None) is not None:
            raise InvalidParameterError(
                f"CoxVAE models one event per subject, but the source gives {source.n_events} (time columns "
                f"{list(source.time)}); pass time= and event= as single column names")
        # the loop learns the scaler from ``self.standardize`` (None means: as the reconstruction)
        chosen, self.standardize = self.standardize, self._standardizes
        self._event_grid, self._grid_done = EventTimeGrid(), False
        try:
            return super()._fit(source, **kwargs)
        finally:
            self.standardize = chosen
            del self._event_grid, self._grid_done

    def _streamed_batches(self, source, dev: torch.device):
        """As the shared loop's, plus the [0, 1] check of "bernoulli" inputs (before
        standardisation) and, in the first epoch, the distinct event times for the baseline."""
        collect = not self._grid_done
        for k, batch in enumerate(iterate_batches(source, self.n_features_, None)):
            X = batch.X
            if self.reconstruction == "bernoulli":
                bad = ((X < 0) | (X > 1)).any(dim=1)
                if bool(bad.any()):
                    raise InvalidSurvivalDataError(
                        f"minibatch {k + 1}: reconstruction='bernoulli' needs values in [0, 1]; rows "
                        f"{torch.nonzero(bad).squeeze(1)[:5].tolist()} are outside; rescale them or use "
                        "reconstruction='gaussian'")
            if self.scaler_ is not None:
                X = self.scaler_.transform(X)
            if collect:
                self._event_grid.add(batch.time.numpy(), batch.event.numpy())
            yield X.to(dev), self._targets(batch.time.to(dev), batch.event.to(dev))
        if collect and not self._event_grid.times().size:
            raise InvalidSurvivalDataError("the training data have no events: every subject in the source is censored")
        self._grid_done = True

    def _checkpoint_extra(self) -> dict:
        """A streamed fit's event times, collected in its first epoch (for the baseline)."""
        if not hasattr(self, "_event_grid"):
            return {}
        return {"event_times": torch.from_numpy(self._event_grid.times().copy()), "grid_done": self._grid_done}

    def _restore_checkpoint_extra(self, extra: dict) -> None:
        if "event_times" in extra:
            self._event_grid = EventTimeGrid.of(extra["event_times"].numpy())
            self._grid_done = bool(extra["grid_done"])

    # the base loop reads ``self.standardize`` as a bool when it learns the scaler
    def _learn_inputs(self, train: SurvivalData, weights=None) -> torch.Tensor:
        chosen, self.standardize = self.standardize, self._standardizes
        try:
            return super()._learn_inputs(train, weights)
        finally:
            self.standardize = chosen

    def _image_shape(self, n_features: int) -> tuple[int, int]:
        if self.image_shape is not None:
            if self.image_shape[0] * self.image_shape[1] != n_features:
                raise InvalidParameterError(f"image_shape {self.image_shape} does not hold the {n_features} columns")
            return tuple(int(v) for v in self.image_shape)
        side = int(round(np.sqrt(n_features)))
        if side * side != n_features:
            raise InvalidParameterError(f"'conv' needs square images or image_shape=(H, W); {n_features} columns "
                                        "are not a square")
        return side, side

    def _build_network(self, n_features: int, example: torch.Tensor) -> nn.Module:
        L = int(self.latent_dim)
        if isinstance(self.encoder, nn.Module):
            enc = self.encoder
        elif self.encoder == "conv":
            enc = conv_encoder(self._image_shape(n_features), 2 * L)
        else:
            enc = mlp(n_features, self.hidden, 2 * L)
        if isinstance(self.decoder, nn.Module):
            dec = self.decoder
        elif self.decoder == "conv":
            dec = conv_decoder(self._image_shape(n_features), L)
        else:
            dec = mlp(L, tuple(reversed(self.hidden)), n_features)
        return CoxVAENetwork(enc, dec, L)

    def _parameter_groups(self, lr: float):
        net = self.network_
        autoencoder = list(net.encoder.parameters()) + list(net.decoder.parameters())
        return [{"params": autoencoder, "lr": float(self.lr_autoencoder)},
                {"params": list(net.cox.parameters()), "lr": float(self.lr_cox)}]

    def _forward(self, inputs: torch.Tensor):
        net = self.network_
        mu, logvar = net.split(net(inputs))
        z = mu
        if net.training and self.sample_latent:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return inputs, mu, logvar, net.decoder(z), net.cox(z).squeeze(1)

    def _sample_weight_refusal(self) -> None:
        return None

    def _loss(self, output, targets, weights=None) -> torch.Tensor:
        x, mu, logvar, decoded, risk = output
        time, event = targets
        total = risk.sum() * 0.0
        if self.tau > 0:
            total = total + self.tau * elbo(x, decoded, mu, logvar, beta=self.beta,
                                            reconstruction=self.reconstruction, sd=self.recon_sd, weights=weights)
        if self.tau < 1:
            total = total + (1.0 - self.tau) * cox_nll(risk.to(torch.float64), time, event,
                                                       weights=weights).to(total.dtype)
        return total

    def _after_fit(self, X, targets, weights=None) -> None:
        time, event = targets
        mu, _ = self.network_.split(self.network_(X))
        eta = self.network_.cox(mu).squeeze(1).double().cpu().numpy()
        self.baseline_ = BreslowBaseline.fit(eta, time.cpu().numpy(), event.cpu().numpy(),
                                             weights=None if weights is None else weights.cpu().numpy())

    def _after_stream_fit(self, source) -> None:
        """Breslow's baseline from one pass of (eta, time, event) over the source, on the event
        times of the first epoch (equal to :meth:`BreslowBaseline.fit` on the same eta)."""
        accumulator = StreamedBreslow(self._event_grid.times())
        for k, batch in enumerate(iterate_batches(source, self.n_features_, self.scaler_)):
            mu, _ = self.network_.split(self.network_(batch.X.to(self.device_)))
            eta = self.network_.cox(mu).squeeze(1).double().cpu().numpy()
            accumulator.add(eta, batch.time.numpy(), batch.event.numpy(), k + 1)
        self.baseline_ = accumulator.baseline()

    # ------------------------------------------------------------------ prediction
    def _mu(self, X) -> torch.Tensor:
        mu, _ = self.network_.split(self._output(X))
        return mu

    def _axis_names(self) -> list[str]:
        return [f"z{j + 1}" for j in range(int(self.latent_dim))]

    def embed(self, X) -> pd.DataFrame:
        """(n, L) posterior means; columns z1..zL; X's index for a DataFrame."""
        with torch.no_grad():
            mu = self._mu(X).double().cpu().numpy()
        return pd.DataFrame(mu, index=X.index if isinstance(X, pd.DataFrame) else None, columns=self._axis_names())

    def _decode(self, z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            out = self.network_.decoder(z.to(self.device_, torch.float32))
            if self.reconstruction == "bernoulli":
                out = torch.sigmoid(out)
            out = out.double().cpu()
        if self.reconstruction == "gaussian" and self.scaler_ is not None:
            out = out * self.scaler_.scale + self.scaler_.mean
        return out.numpy()

    def reconstruct(self, X) -> np.ndarray:
        """(n, D) decoded posterior means, in the input's scale (Bernoulli means for images)."""
        return self._decode(self._mu(X))

    def traverse(self, dim: int, values: Sequence[float] = tuple(np.linspace(-4, 4, 9))) -> np.ndarray:
        """(len(values), D) decoded z = 0 with latent axis ``dim`` (0-based) set to each value (Fig. 3)."""
        self._check_fitted()
        if not isinstance(dim, (int, np.integer)) or not 0 <= dim < int(self.latent_dim):
            raise InvalidParameterError(f"dim must be a latent axis 0..{int(self.latent_dim) - 1}, but was {dim!r}")
        values = np.asarray(values, dtype=np.float64).ravel()
        z = torch.zeros((len(values), int(self.latent_dim)), dtype=torch.float32)
        z[:, dim] = torch.from_numpy(values).float()
        return self._decode(z)

    def hazard_ratios(self) -> pd.Series:
        """exp(psi_j): the hazard ratio per unit of each latent axis."""
        self._check_fitted()
        psi = self.network_.cox.weight.detach().double().cpu().numpy().ravel()
        return pd.Series(np.exp(psi), index=self._axis_names(), name="hazard ratio")

    def predict_risk(self, X) -> np.ndarray:
        """(n,) log-hazard psi' mu(x) (higher = earlier events)."""
        with torch.no_grad():
            return self.network_.cox(self._mu(X)).squeeze(1).double().cpu().numpy()

    def _survival_at(self, output: torch.Tensor, times: np.ndarray) -> np.ndarray:
        mu, _ = self.network_.split(output)
        with torch.no_grad():
            eta = self.network_.cox(mu).squeeze(1).double().cpu().numpy()
        return self.baseline_.survival(eta, times)

    def plot_embedding(self, X, color=None, *, label: str = "", title: str | None = None):
        """Scatter of the first two principal components of the embedding (Figs. 2 and 4),
        coloured by ``color`` (n,) (e.g. the digit or survival time). Returns a matplotlib
        Figure (the global backend is left alone); save it with ``fig.savefig(path)``."""
        from matplotlib.figure import Figure

        Z = self.embed(X).to_numpy()
        Zc = Z - Z.mean(axis=0)
        _, _, vt = np.linalg.svd(Zc, full_matrices=False)
        pcs = Zc @ vt[:2].T
        fig = Figure(figsize=(5.2, 4.2))
        ax = fig.subplots()
        points = ax.scatter(pcs[:, 0], pcs[:, 1], c=color, s=8, cmap="viridis")
        if color is not None:
            fig.colorbar(points, ax=ax, label=label)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_title(title or f"CoxVAE embedding (tau = {self.tau})")
        fig.tight_layout()
        return fig

    def plot_traversal(self, values: Sequence[float] = tuple(np.linspace(-4, 4, 9)),
                       image_shape: tuple[int, int] | None = None):
        """A grid of decoded images: one row per latent axis (z = 0 with that axis varied over
        ``values``), each row labelled with its hazard ratio exp(psi_j) (Fig. 3). Returns a
        matplotlib Figure."""
        from matplotlib.figure import Figure

        shape = image_shape or self._image_shape(self.n_features_)
        L, hr = int(self.latent_dim), self.hazard_ratios()
        fig = Figure(figsize=(1.0 * len(values) + 1.6, 1.0 * L + 0.6))
        axes = fig.subplots(L, len(values), squeeze=False)
        for j in range(L):
            images = self.traverse(j, values)
            for k, img in enumerate(images):
                ax = axes[j, k]
                ax.imshow(img.reshape(shape), cmap="gray", vmin=0, vmax=1 if self.reconstruction == "bernoulli" else None)
                ax.set_xticks([])
                ax.set_yticks([])
                if j == L - 1:
                    ax.set_xlabel(f"{values[k]:g}")
            axes[j, -1].yaxis.set_label_position("right")
            axes[j, -1].set_ylabel(f"z{j + 1}\nHR {hr.iloc[j]:.2f}", rotation=0, ha="left", va="center")
        fig.suptitle("latent traversal: z = 0, one axis varied (rows: axis, its hazard ratio)")
        return fig

    # ------------------------------------------------------------------ persistence
    def _extra_state(self) -> dict[str, torch.Tensor]:
        return self.baseline_.state()

    def _load_extra_state(self, state, fitted) -> None:
        self.baseline_ = BreslowBaseline.from_state(state)
