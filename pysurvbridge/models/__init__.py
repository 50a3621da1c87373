"""Neural survival models; all subclass :class:`base.SurvivalModel` (one training loop)."""
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.cox_vae import CoxVAE
from pysurvbridge.models.deepsurv import DeepSurv
from pysurvbridge.models.lstm_cox import LSTMCox
from pysurvbridge.models.mensa import MENSA
from pysurvbridge.models.networks import mlp, small_cnn
from pysurvbridge.models.nnet_survival import NnetSurvival

__all__ = ["SurvivalModel", "CoxVAE", "DeepSurv", "LSTMCox", "MENSA", "NnetSurvival", "mlp", "small_cnn"]
