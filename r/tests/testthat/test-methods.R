# pec and riskRegression on the neural fits, the host guard. References: the fit's own predict()
# (pec/riskRegression must receive exactly it); Python's rbridge reading this process.

test_that("pec::predictSurvProb and riskRegression::predictRisk use the fit's predictions", {
  skip_if_no_python()
  skip_if_not_installed("pec")
  skip_if_not_installed("riskRegression")
  lung <- lung_complete()
  fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 10, seed = 2)
  times <- c(100, 300, 500)
  s <- predict(fit, lung, type = "survival", times = times)
  expect_identical(pec::predictSurvProb(fit, newdata = lung, times = times), unname(s))
  expect_identical(riskRegression::predictRisk(fit, newdata = lung, times = times), 1 - unname(s))
  sc <- riskRegression::Score(list(deepsurv = fit), formula = Surv(time, status) ~ 1, data = lung, times = times,
                              metrics = c("auc", "brier"), null.model = FALSE, conf.int = FALSE)
  brier <- sc$Brier$score
  expect_equal(nrow(brier), length(times))
  expect_true(all(brier$Brier > 0 & brier$Brier < 0.5))
  expect_true(all(sc$AUC$score$AUC > 0.5))
})

test_that("Python inside this R session sees the reticulate host and allows rpy2 (reticulate >= 1.31)", {
  skip_if_no_python()
  rb <- reticulate::import("pysurvbridge.rbridge", convert = FALSE)
  host <- reticulate::py_to_r(rb$reticulate_host())
  expect_identical(as.integer(host$pid), Sys.getpid())
  expect_identical(host$version, format(utils::packageVersion("reticulate")))
  expect_null(reticulate::py_to_r(rb$host_refusal(rb$reticulate_host())))
})

test_that("survbridge_doctor runs pysurvbridge doctor", {
  skip_if_no_python()
  out <- utils::capture.output(status <- survbridge_doctor())
  expect_true(any(grepl("Python used:", out)))
  expect_true(any(grepl("R package reticulate", out)) || status != 0)
})
