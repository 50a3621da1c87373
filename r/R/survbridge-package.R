#' survbridge: classical and neural survival models side by side, from R
#'
#' The classical recurrent-event models (Andersen-Gill, WLW, PWP, Cox) are fitted in this R
#' session's own survival ([sb_fit_classical()], [sb_layout()]); the neural models (LSTM-Cox,
#' DeepSurv, Nnet-survival, CoxVAE, MENSA) are fitted in Python by pysurvbridge through
#' reticulate ([sb_fit()]); [sb_compare()] scores both on the same held-out subjects.
#'
#' @section Setting up Python:
#' Nothing starts Python before the first call that needs it. survbridge uses the first of
#' [sb_python_candidates()] that exists: `RETICULATE_PYTHON`, `options(survbridge.python)`,
#' `SURVBRIDGE_PYTHON`, the Python recorded by [install_pysurvbridge()], and the project's
#' `.venv` when the package was installed from the pysurvbridge repository. An R user without
#' that repository runs `install_pysurvbridge()` once; [survbridge_doctor()] says what is
#' missing and which call fixes it. `vignette("survbridge")` walks through a comparison.
#' @keywords internal
#' @importFrom survival Surv coxph
#' @importFrom stats predict
"_PACKAGE"
