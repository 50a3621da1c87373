"""Every estimator of the package, found by walking its modules (scikit-survival's
``all_survival_estimators``): the conformance tests parametrise over this list, never over a
hand-kept one."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

__all__ = ["all_estimators"]

PACKAGES = ("pysurvbridge.models", "pysurvbridge.classical")


def all_estimators() -> list[type]:
    """The concrete estimator classes (scikit-learn BaseEstimator subclasses with the survival
    mixin), sorted by name."""
    from sklearn.base import BaseEstimator

    from pysurvbridge.estimator import SurvivalAnalysisMixin
    from pysurvbridge.models.base import SurvivalModel

    found: dict[str, type] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package_name}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if (issubclass(cls, BaseEstimator) and issubclass(cls, SurvivalAnalysisMixin)
                        and cls is not SurvivalModel and cls.__module__.startswith("pysurvbridge")):
                    found[cls.__name__] = cls
    return [found[k] for k in sorted(found)]
