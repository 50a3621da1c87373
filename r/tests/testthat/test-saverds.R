# A fitted Python model inside an R object survives saveRDS()/readRDS() in a fresh R process
# (the fault that sank survivalmodels' deep models). Reference: the predictions made before saving.

test_that("an LSTM-Cox fit reloads in a fresh R process and predicts the same numbers", {
  skip_if_no_python()
  skip_if_not_installed("callr")
  d <- bladder_subset()
  set.seed(8)
  fit <- sb_fit("lstm-cox", Surv(start, stop, event) ~ rx + number + size + cluster(id), d, epochs = 3)
  new <- d[d$id %in% 1:10, ]
  before <- list(lp = predict(fit, new, type = "lp"), s = predict(fit, new, type = "survival", times = c(5, 20)))
  path <- tempfile(fileext = ".rds")
  saveRDS(fit, path)
  after <- callr::r(function(path, new) {
    library(survbridge)
    fit <- readRDS(path)
    list(lp = predict(fit, new, type = "lp"), s = predict(fit, new, type = "survival", times = c(5, 20)),
         print = utils::capture.output(print(fit)))
  }, args = list(path = path, new = new), env = c(callr::rcmd_safe_env(), R_LIBS = Sys.getenv("R_LIBS"),
                                                   R_LIBS_USER = Sys.getenv("R_LIBS_USER")))
  expect_identical(after$lp, before$lp)
  expect_identical(after$s, before$s)
  expect_match(after$print[1], "lstm-cox fit")
})
