"""LSTM-Cox for recurrent events ("LSTM-COX Model: A Concise and Efficient Deep Learning
Approach for Handling Recurrent Events"), with an honest default protocol.

Architecture, as the paper: LSTM (20 units, returning sequences) -> dropout 0.5 -> a dense layer
without activation at every step -> the steps' outputs flattened into features -> a Cox model
on those features. Sequences are 3 steps long; inputs default to the covariates (bladder1:
treatment, number, size) and the recurrence count. The paper does not give the dense layer's
width: ``step_features=2`` (6 features for 3 steps) is our choice.

Protocols:

- ``"history"`` (default): one sequence per at-risk interval (start, stop] built only from what
  was known before the interval began (:mod:`pysurvbridge.data.sequences`); the network's
  output is that interval's log-risk in ``cox_nll`` with (start, stop] risk sets (the
  Andersen-Gill likelihood), trained end to end. Evaluate on held-out subjects.
- ``"paper"``: the paper's two stages. One sequence per subject (its first ``seq_len``
  intervals) over the paper's inputs, which include the outcome and post-baseline columns
  ``stop``, ``recur``, ``rtumor``, ``rsize``; the LSTM is trained by MSE; its features feed a
  Cox model fitted by :func:`pysurvbridge.classical.fit_cox` on survival time = last stop -
  first start and status = the last row's event. Choices where the paper is silent: the MSE
  target is the standardised log(1 + survival time); sequences are a subject's first
  ``seq_len`` intervals; the split is left to the caller (``compare`` splits by subject).
  Every fit and report in this protocol carries ``protocol_label_`` naming the leaky inputs.

**Case weights** (``fit(data, sample_weight=)``, history protocol): one weight per subject, in
the order of ``data.ids``, given to each of the subject's (start, stop] rows, as R's
``coxph(Surv(start, stop, event) ~ ..., weights = w)`` with the subject's weight on its rows:
the weighted Andersen-Gill partial likelihood, the weighted Breslow baseline, weighted
standardisation of the inputs. The paper protocol refuses them: its second stage is the
classical ``fit_cox``, which takes no case weights.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.data.sequences import (
    OUTCOME_FEATURES,
    check_features,
    default_features,
    feature_matrix,
    history_sequences,
)
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.losses import cox_nll
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.baseline import BreslowBaseline
from pysurvbridge.models.batches import StandardScaler

__all__ = ["LSTMCox", "LSTMCoxNetwork", "PAPER_FEATURES"]

PROTOCOLS = ("history", "paper")
#: the paper's inputs on bladder1 (bladder1_recurrent(paper_inputs=True) provides them)
PAPER_FEATURES = ("treatment[pyridoxine]", "treatment[thiotepa]", "number", "size", "recur", "stop",
                  "rtumor", "rsize")


class LSTMCoxNetwork(nn.Module):
    """(n, L, p) sequences + (n, L) mask -> (n, 1) output; ``features`` gives (n, L * d).

    Steps are read oldest first (packed, so padding never enters the LSTM state), the dense
    outputs are right-aligned so the last feature block is always the most recent step, and
    padded steps contribute zeros.
    """

    def __init__(self, n_inputs: int, seq_len: int, hidden_size: int = 20, dropout: float = 0.5,
                 step_features: int = 2, head_bias: bool = False) -> None:
        super().__init__()
        self.seq_len, self.step_features = seq_len, step_features
        self.lstm = nn.LSTM(n_inputs, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, step_features)
        self.head = nn.Linear(seq_len * step_features, 1, bias=head_bias)

    def features(self, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        L = self.seq_len
        lengths = mask.sum(dim=1)
        packed = nn.utils.rnn.pack_padded_sequence(X, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=L)
        out = self.dense(self.dropout(out)) * mask.unsqueeze(2).to(out.dtype)
        steps = torch.arange(L, device=X.device)
        shift = (L - lengths).unsqueeze(1)
        index = (steps.unsqueeze(0) - shift).clamp(min=0)
        aligned = torch.gather(out, 1, index.unsqueeze(2).expand(-1, -1, self.step_features))
        aligned = aligned * (steps.unsqueeze(0) >= shift).unsqueeze(2).to(out.dtype)
        return aligned.flatten(1)

    def forward(self, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(X, mask))


class LSTMCox(SurvivalModel):
    """LSTM-Cox on :class:`RecurrentData` (see the module docstring for the two protocols).

    Args:
        features: input features per step (covariates, "recurrences", "start"; the paper
            protocol also accepts "stop" and bladder1's recur, rtumor, rsize). Default: the
            covariates and "recurrences" (history), :data:`PAPER_FEATURES` (paper).
        seq_len: steps per sequence (paper: 3). hidden_size: LSTM units (paper: 20).
        dropout: after the LSTM (paper: 0.5). step_features: dense outputs per step.
        protocol: "history" or "paper". ties: Cox ties ("efron" or "breslow").
        standardize: centre and scale the inputs with training means and SDs.
        epochs, batch_size, lr, weight_decay, optimizer, validation, patience, device, verbose, random_state:
            the training options (:meth:`SurvivalModel.fit`); ``fit`` keywords of
            the same names override them for one call.

    scikit-learn: ``get_params``/``set_params``/``clone``, pickling and ``score`` work; ``fit``
    takes a RecurrentData only (see ``_training_data`` for why not ``fit(X, y)``),
    ``predict`` gives each subject's risk and ``score`` Harrell's C on time to first event.

    Learned state: ``network_``, ``features_``, ``protocol_label_``, ``baseline_`` (Breslow,
    history), ``cox_`` (the stage-2 :class:`ClassicalFit`, paper), ``aic_``: -2 log partial
    likelihood on the training data + 2k with k = the Cox coefficients on the learned features
    (seq_len x step_features; network weights are not counted): the Andersen-Gill (start, stop]
    likelihood (history) or the subject-level Cox stage (paper). ``aic_counts_`` says so.
    """

    name = "lstm-cox"
    supports_streaming = False
    in_memory_types = (RecurrentData,)

    def __init__(self, features: Sequence[str] | None = None, *, seq_len: int = 3, hidden_size: int = 20,
                 dropout: float = 0.5, step_features: int = 2, protocol: str = "history",
                 ties: str = "efron", standardize: bool = True, epochs: int = 100, batch_size: int | None = None,
                 lr: float = 1e-3, weight_decay: float = 0.0, optimizer: str = "adam", validation=None,
                 patience: int | None = None, device: str = "auto", verbose: bool = True, random_state=0) -> None:
        self.features = features
        self.seq_len = seq_len
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.step_features = step_features
        self.protocol = protocol
        self.ties = ties
        self.standardize = standardize
        self._set_training(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                           validation=validation, patience=patience, device=device, verbose=verbose,
                           random_state=random_state)

    def _check_params(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidParameterError(f"protocol must be one of {PROTOCOLS}, but was {self.protocol!r}")
        if not isinstance(self.seq_len, (int, np.integer)) or self.seq_len < 1:
            raise InvalidParameterError(f"seq_len must be an integer >= 1, but was {self.seq_len!r}")
        for name in ("hidden_size", "step_features"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InvalidParameterError(f"{name} must be an integer >= 1, but was {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidParameterError(f"dropout must be in [0, 1), but was {self.dropout!r}")
        if self.ties not in ("efron", "breslow"):
            raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {self.ties!r}")

    def _training_data(self, X, y):
        if y is not None:
            raise InvalidParameterError(
                "LSTMCox trains on recurrent events: fit(RecurrentData), the (start, stop] rows of each subject. "
                "fit(X, y) is not offered: scikit-learn's splitters would put rows of one subject on both sides of a "
                "split, and the sequences need each subject's whole history (compare() splits by subject)")
        if not isinstance(X, RecurrentData):
            raise InvalidParameterError(f"LSTMCox needs its training data in memory as a RecurrentData (the (start, "
                                        f"stop] rows of each subject), but got {type(X).__name__}")
        return X, None

    @property
    def registry_name(self) -> str:
        """"lstm-cox" (history) or "lstm-cox-paper" (the paper's leaky protocol)."""
        return "lstm-cox" if self.protocol == "history" else "lstm-cox-paper"

    # ------------------------------------------------------------------ data hooks
    def _split(self, data: RecurrentData, validation, seed: int):
        if validation is None:
            return data, None
        if isinstance(validation, RecurrentData):
            return data, validation
        if not isinstance(validation, (float, int)) or not 0 < validation < 1:
            raise InvalidParameterError(
                f"validation must be a fraction in (0, 1) or a RecurrentData, but was {validation!r}")
        ids = np.asarray(data.ids)
        order = np.random.default_rng(seed).permutation(len(ids))
        n_val = int(round(validation * len(ids)))
        if n_val < 2 or len(ids) - n_val < 2:
            raise InvalidParameterError(f"validation={validation} leaves {n_val} of {len(ids)} subjects for validation")
        return data.subset(ids[order[n_val:]]), data.subset(ids[order[:n_val]])

    def _sample_weight_refusal(self) -> str | None:
        if self.protocol == "paper":
            return ("protocol='paper' fits its second stage with the classical fit_cox, which takes no case weights "
                    "(and its first stage is an MSE on subjects); use protocol='history' for weighted subjects")
        return None

    def _n_subjects(self, data: RecurrentData) -> int:
        return data.n_subjects

    def _row_weights(self, data: RecurrentData, weights: np.ndarray) -> np.ndarray:
        """Each subject's weight (in the order of ``data.ids``) on each of its rows (history
        protocol: one sequence per row, in the frame's order)."""
        return pd.Series(np.asarray(weights, dtype=np.float64), index=data.ids).loc[data.frame["id"]].to_numpy()

    def _data_weights(self, data: RecurrentData) -> np.ndarray | None:
        """The data's own case weights (one per row, constant within a subject) per subject, in
        the order of ``data.ids``."""
        own = getattr(data, "weights", None)
        if own is None:
            return None
        rows = pd.Series(np.asarray(own, dtype=np.float64), index=data.frame["id"].to_numpy())
        return rows.groupby(level=0, sort=False).first().loc[data.ids].to_numpy()

    def _validation_rows(self, data, train, val, validation, seed):
        """The positions of the parts' subjects among ``data.ids`` (the parts are subsets of subjects)."""
        position = pd.Index(data.ids)
        return position.get_indexer(train.ids), position.get_indexer(val.ids)

    def _learn_inputs(self, train: RecurrentData, weights: np.ndarray | None = None) -> torch.Tensor:
        paper = self.protocol == "paper"
        wanted = self.features if self.features is not None else (list(PAPER_FEATURES) if paper else default_features(train))
        self.features_ = tuple(check_features(train, [f for f in wanted if f != "stop"], allow_outcomes=paper)
                               + (["stop"] if "stop" in wanted else []))
        if "stop" in self.features_ and not paper:
            raise InvalidParameterError("feature 'stop' is the end of the interval being predicted; "
                                        "only protocol='paper' accepts it")
        self.covariates_ = self.features_
        self.n_features_ = len(self.features_)
        values = self._values(train)
        rows = None if weights is None else self._row_weights(train, weights)
        self.scaler_ = StandardScaler.from_array(values, rows) if self.standardize else None
        leaky = [f for f in self.features_ if f in OUTCOME_FEATURES]
        k = self.seq_len * self.step_features
        self.aic_counts_ = (f"k = {k} Cox coefficients on the learned features (network weights not counted); "
                            + ("Andersen-Gill (start, stop] partial likelihood" if not paper else
                               "Cox partial likelihood of subject survival time (last stop - first start)"))
        self.protocol_label_ = ("history (inputs known before each interval)" if not paper else
                                f"paper (leaky protocol: inputs {leaky} carry the outcome or post-baseline data)")
        return torch.zeros((2, self.seq_len, self.n_features_))

    def _values(self, data: RecurrentData) -> np.ndarray:
        plain = [f for f in self.features_ if f != "stop"]
        values = feature_matrix(data, plain)
        if "stop" in self.features_:
            values = np.column_stack([values, data.frame["stop"].to_numpy(np.float64)])
        return values

    def _sequences(self, data: RecurrentData) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """(X (m, L, p) standardized, mask (m, L), targets frame) for the protocol's units."""
        if not isinstance(data, RecurrentData):
            raise InvalidParameterError(f"LSTMCox needs a RecurrentData, but got {type(data).__name__}")
        missing = [f for f in self.features_ if f not in (*data.covariates, "recurrences", "start", "stop")]
        if missing:
            raise InvalidSurvivalDataError(f"the data lack the input features {missing} the model was fitted on")
        if self.protocol == "history":
            seq = history_sequences(data, [f for f in self.features_], self.seq_len)
            X, mask = seq.X.astype(np.float64), seq.mask
            units = pd.DataFrame({"id": seq.ids, "start": seq.start, "stop": seq.stop, "event": seq.event})
        else:
            X, mask, units = _subject_sequences(data, self._values(data), self.seq_len)
        if self.scaler_ is not None:
            mean, scale = self.scaler_.mean.numpy(), self.scaler_.scale.numpy()
            X = np.where(mask[:, :, None], (X - mean) / scale, 0.0)
        return X.astype(np.float32), mask, units

    def _prepare(self, data: RecurrentData, dev: torch.device):
        X, mask, units = self._sequences(data)
        inputs = (torch.from_numpy(X).to(dev), torch.from_numpy(mask).to(dev))
        t = lambda c: torch.from_numpy(units[c].to_numpy(np.float64)).to(dev)  # noqa: E731
        if self.protocol == "history":
            return inputs, (t("start"), t("stop"), t("event"))
        if not units["event"].any():
            raise InvalidSurvivalDataError(
                "protocol='paper' takes each subject's status from its last row, and every last row "
                f"here is censored ({len(units)} subjects, 0 events): counting-process data that end "
                "at the end of follow-up have no events under the paper's rule")
        if not hasattr(self, "target_mean_"):  # MSE target scaled on the training subjects
            log_time = np.log1p(units["time"].to_numpy(np.float64))
            self.target_mean_, self.target_scale_ = float(log_time.mean()), float(log_time.std() or 1.0)
        target = (np.log1p(units["time"].to_numpy(np.float64)) - self.target_mean_) / self.target_scale_
        return inputs, (torch.from_numpy(target).to(dev), t("time"), t("event"))

    def _build_network(self, n_features: int, example) -> nn.Module:
        return LSTMCoxNetwork(n_features, self.seq_len, self.hidden_size, self.dropout, self.step_features,
                              head_bias=self.protocol == "paper")

    def _forward(self, inputs) -> torch.Tensor:
        return self.network_(*inputs)

    def _loss(self, output: torch.Tensor, targets, weights: torch.Tensor | None = None) -> torch.Tensor:
        if self.protocol == "history":
            start, stop, event = targets
            return cox_nll(output.squeeze(1).to(torch.float64), stop, event, start=start, ties=self.ties,
                           weights=weights)
        return torch.mean((output.squeeze(1).to(torch.float64) - targets[0]) ** 2)

    def _loss_share(self, output, targets, part) -> torch.Tensor:
        """fit(distributed=True), history protocol: the exact (start, stop] partial likelihood
        of the whole batch, risk sets over all processes; the paper's MSE: a mean over rows."""
        if self.protocol == "history":
            start, stop, event = targets
            return part.cox_nll_share(output.squeeze(1).to(torch.float64), stop, event, start=start, ties=self.ties)
        return super()._loss_share(output, targets, part)

    def fit(self, X: RecurrentData, y=None, sample_weight=None, **options) -> "LSTMCox":
        """See :meth:`SurvivalModel.fit`; ``X`` is a RecurrentData (no ``y``), ``validation`` a
        fraction of subjects or a RecurrentData, ``sample_weight`` one weight per subject in the
        order of ``X.ids`` (history protocol; see the module docstring). Full batch by default
        (whole risk sets)."""
        for attr in ("target_mean_", "target_scale_"):
            self.__dict__.pop(attr, None)
        return super().fit(X, y, sample_weight, **options)

    def _after_fit(self, inputs, targets, weights=None) -> None:
        features = self.network_.features(*inputs).double().cpu().numpy()
        if self.protocol == "history":
            start, stop, event = (t.cpu().numpy() for t in targets)
            eta = self.network_.head(torch.from_numpy(features).to(self.network_.head.weight)).squeeze(1)
            eta = eta.double().cpu().numpy()
            w = None if weights is None else weights.cpu().numpy()
            self.baseline_ = BreslowBaseline.fit(eta, stop, event, start, weights=w)
            t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
            loglik = -cox_nll(t(eta), t(stop), t(event), start=t(start), ties=self.ties, reduction="sum",
                              weights=None if w is None else t(w)).item()
            self.aic_ = -2.0 * loglik + 2.0 * self.network_.head.weight.numel()
            return
        self._fit_cox_stage(features, targets[1].cpu().numpy(), targets[2].cpu().numpy())

    def _fit_cox_stage(self, features: np.ndarray, time: np.ndarray, event: np.ndarray) -> None:
        from pysurvbridge.classical import fit_cox
        from pysurvbridge.data.events import SurvivalData

        names = [f"lstm_feature_{j}" for j in range(features.shape[1])]
        self.cox_ = fit_cox(SurvivalData.from_arrays(time, event, features, names), engine="native", ties=self.ties)
        self.aic_ = self.cox_.aic

    # ------------------------------------------------------------------ prediction
    def _eval_inputs(self, data: RecurrentData):
        self._check_fitted()
        X, mask, units = self._sequences(data)
        return (torch.from_numpy(X).to(self.device_), torch.from_numpy(mask).to(self.device_)), units

    def predict_features(self, data: RecurrentData) -> np.ndarray:
        """(m, seq_len * step_features) learned features, one row per interval (history) or
        subject (paper)."""
        inputs, _ = self._eval_inputs(data)
        self.network_.eval()
        with torch.no_grad():
            return self.network_.features(*inputs).double().cpu().numpy()

    def predict_risk(self, data: RecurrentData) -> np.ndarray:
        """Log-risk: one per counting-process row (history) or per subject (paper: the Cox
        stage's linear predictor on the learned features)."""
        if self.protocol == "history":
            inputs, _ = self._eval_inputs(data)
            self.network_.eval()
            with torch.no_grad():
                return self.network_(*inputs).squeeze(1).double().cpu().numpy()
        return self.cox_.predict_log_risk(self.predict_features(data))

    def predict_subject_risk(self, data: RecurrentData) -> pd.Series:
        """Log-risk at each subject's first interval (history) or the subject's risk (paper),
        indexed by id: what Harrell's C on time to first event ranks."""
        risk = self.predict_risk(data)
        if self.protocol == "history":
            first = ~pd.Series(data.frame["id"].to_numpy()).duplicated().to_numpy()
            return pd.Series(risk[first], index=data.frame["id"].to_numpy()[first])
        return pd.Series(risk, index=pd.unique(data.frame["id"]))

    def predict_survival(self, data: RecurrentData, times: Sequence[float]) -> pd.DataFrame:
        """Probability of no event by each time from 0, per subject (rows by id): history, from
        the first interval's risk and the Breslow (start, stop] baseline; paper, from the Cox
        stage."""
        grid = np.asarray(times, dtype=np.float64)
        risk = self.predict_subject_risk(data)
        if self.protocol == "history":
            surv = self.baseline_.survival(risk.to_numpy(), grid)
        else:
            surv = self.cox_.predict_survival(self.predict_features(data), grid).to_numpy()
        return pd.DataFrame(surv, index=risk.index, columns=pd.Index(grid, name="time"))

    _step_survival = True  # Breslow curves (history) or the Cox stage's (paper)

    def predict(self, X: RecurrentData) -> np.ndarray:
        """(subjects,) each subject's risk (:meth:`predict_subject_risk`), in order of first
        appearance: higher means an earlier first event."""
        return self.predict_subject_risk(X).to_numpy()

    def score(self, X: RecurrentData, y=None) -> float:
        """Harrell's C of :meth:`predict` on each subject's time to first event."""
        from pysurvbridge import metrics

        if y is not None or not isinstance(X, RecurrentData):
            raise InvalidParameterError("LSTMCox.score takes a RecurrentData (no y): the first event of each "
                                        "subject comes from its rows")
        first = X.first_event()
        risk = self.predict_subject_risk(X).loc[first.ids]
        return float(metrics.concordance_harrell(risk.to_numpy(), first.time, first.event))

    @property
    def unique_times_(self) -> np.ndarray:
        """The times of the baseline (history: the Breslow (start, stop] baseline's event
        times; paper: the Cox stage's)."""
        self._check_fitted()
        if self.protocol == "history":
            return np.asarray(self.baseline_.times)
        return np.unique(self.cox_.baseline["time"].to_numpy())

    def evaluate(self, data: RecurrentData, times=None) -> dict[str, float]:
        """Harrell's C of the subject risk on time to first event ("c_first_event") and, for
        the history protocol, the counting-process C of each interval's risk ("c_intervals",
        survival::concordance on Surv(start, stop, event))."""
        from pysurvbridge import metrics

        first = data.first_event()
        risk = self.predict_subject_risk(data).loc[first.ids]
        out = {"c_first_event": metrics.concordance_harrell(risk.to_numpy(), first.time, first.event)}
        if self.protocol == "history":
            f = data.frame
            out["c_intervals"] = metrics.concordance_recurrent(self.predict_risk(data), f["start"], f["stop"], f["event"])
        return out

    # ------------------------------------------------------------------ interpretation
    def _risk_function(self):
        """(X (n, L, p) standardized, mask (n, L)) -> (n,) output of the network, eval mode."""
        self._check_fitted()
        self.network_.eval()
        return lambda X, mask: self.network_(X.to(self.device_, torch.float32), mask.to(self.device_)).squeeze(1)

    def input_attribution(self, data: RecurrentData, *, multiply_by_input: bool = False) -> pd.DataFrame:
        """The paper's "gradient test": mean ``|d log-risk / d input|`` per step and feature over the
        sequences of ``data`` (inputs on the standardized scale; step 0 = oldest). History
        protocol: the log-risk; paper protocol: the MSE head's output. Steps are right-aligned:
        the last step is the interval being predicted, step L-1-k the one k intervals before."""
        from pysurvbridge.interpret import input_gradients

        (X, mask), _ = self._eval_inputs(data)
        return input_gradients(self._risk_function(), X, mask, feature_names=list(self.features_),
                               multiply_by_input=multiply_by_input, align="right")

    def local_explanation(self, data: RecurrentData, row: int, **kwargs):
        """LIME-style local linear surrogate of the log-risk around sequence ``row`` of ``data``
        (see :func:`pysurvbridge.interpret.local_surrogate`; perturbations on the standardized
        scale, so scale 1 = one training SD)."""
        from pysurvbridge.interpret import local_surrogate

        (X, mask), _ = self._eval_inputs(data)
        if not 0 <= row < X.shape[0]:
            raise InvalidParameterError(f"row must be in [0, {X.shape[0]}), but was {row!r}")
        return local_surrogate(self._risk_function(), X[row], mask[row], feature_names=list(self.features_), **kwargs)

    def feature_embedding(self, data: RecurrentData, *, method: str = "pca", seed: int = 0):
        """2-D PCA or t-SNE of the learned features, coloured by high/low predicted risk
        (split at the median); ``.save(path)`` writes the PNG."""
        from pysurvbridge.interpret import feature_embedding

        return feature_embedding(self.predict_features(data), self.predict_risk(data), method=method, seed=seed)

    # ------------------------------------------------------------------ persistence
    def _fitted_facts(self) -> dict:
        facts = {"features": list(self.features_), "protocol_label": self.protocol_label_}
        if self.protocol == "paper":
            facts.update(target_mean=self.target_mean_, target_scale=self.target_scale_,
                         cox_beta=self.cox_.coef.tolist())
        return facts

    def _extra_state(self) -> dict[str, torch.Tensor]:
        return self.baseline_.state() if self.protocol == "history" else {}

    def _load_extra_state(self, state, fitted) -> None:
        self.features_ = tuple(fitted["features"])
        self.protocol_label_ = fitted["protocol_label"]
        if self.protocol == "history":
            self.baseline_ = BreslowBaseline.from_state(state)
        else:
            raise InvalidParameterError("saving the paper protocol's Cox stage is not supported; refit it")


def _subject_sequences(data: RecurrentData, values: np.ndarray, seq_len: int):
    """Paper protocol: each subject's first ``seq_len`` rows (padded), survival time = last
    stop - first start, status = the last row's event."""
    f = data.frame
    ids = f["id"].to_numpy()
    subjects = pd.unique(ids)
    position = f.groupby("id", sort=False).cumcount().to_numpy()
    subject_index = pd.Index(subjects).get_indexer(ids)
    X = np.zeros((len(subjects), seq_len, values.shape[1]))
    mask = np.zeros((len(subjects), seq_len), dtype=bool)
    keep = position < seq_len
    X[subject_index[keep], position[keep]] = values[keep]
    mask[subject_index[keep], position[keep]] = True
    g = f.groupby("id", sort=False)
    units = pd.DataFrame({"id": subjects, "time": (g["stop"].max() - g["start"].min()).to_numpy(),
                          "event": g["event"].last().to_numpy()})
    return X, mask, units
