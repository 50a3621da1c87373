# sb_fit_classical() in this R session, no Python. Reference: survival 3.5's own bladder2 (AG,
# PWP layouts) and bladder (WLW layout) data sets, which ?bladder says were built from bladder1
# this way; coxph on them is the expected fit, to 1e-12.

test_that("AG on bladder1 (4 events) is coxph on survival's bladder2", {
  fit <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder_subset(),
                          model = "ag", max_events = 4)
  ref <- coxph(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder2)
  expect_s3_class(fit, "coxph")
  expect_equal(coef(fit), coef(ref), tolerance = 1e-12)
  expect_equal(vcov(fit), vcov(ref), tolerance = 1e-12)  # robust (cluster) variance
  expect_equal(fit$naive.var, ref$naive.var, tolerance = 1e-12)
  expect_equal(fit$loglik, ref$loglik, tolerance = 1e-12)
  expect_lt(abs(unname(sqrt(diag(vcov(fit)))[1]) - 0.2656), 5e-5)  # robust SE of rx printed to 4 digits
})

test_that("PWP total and gap time on bladder1 are coxph on bladder2 with strata(enum)", {
  d <- bladder_subset()
  tot <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size, d, model = "pwp-total", id = "id",
                          max_events = 4)
  gap <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size, d, model = "pwp-gap", id = id,
                          max_events = 4)
  ref_tot <- coxph(Surv(start, stop, event) ~ rx + number + size + strata(enum) + cluster(id), bladder2)
  ref_gap <- coxph(Surv(stop - start, event) ~ rx + number + size + strata(enum) + cluster(id), bladder2)
  expect_equal(coef(tot), coef(ref_tot), tolerance = 1e-12)
  expect_equal(vcov(tot), vcov(ref_tot), tolerance = 1e-12)
  expect_equal(coef(gap), coef(ref_gap), tolerance = 1e-12)
  expect_equal(vcov(gap), vcov(ref_gap), tolerance = 1e-12)
})

test_that("WLW on bladder1 is coxph on survival's bladder (4 marginal strata)", {
  fit <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder_subset(),
                          model = "wlw")
  ref <- coxph(Surv(stop, event) ~ rx + number + size + strata(enum) + cluster(id), bladder)
  expect_equal(coef(fit), coef(ref), tolerance = 1e-12)
  expect_equal(vcov(fit), vcov(ref), tolerance = 1e-12)
  layout <- sb_layout(bladder_subset(), "wlw", id = "id", start = "start", stop = "stop", event = "event")
  expect_equal(nrow(layout), 4 * 85)
  expect_equal(sum(layout$event), sum(bladder$event))
})

test_that("Cox on time to first event equals coxph on the first rows", {
  d <- bladder_subset()
  fit <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size + cluster(id), d, model = "cox")
  first <- bladder2[bladder2$enum == 1, ]  # in bladder2 each subject's first row ends at event 1 or censoring
  ref <- coxph(Surv(stop, event) ~ rx + number + size + cluster(id), first)
  expect_equal(coef(fit), coef(ref), tolerance = 1e-12)
  single <- sb_fit_classical(Surv(time, status) ~ age + sex, lung_complete(), model = "cox")
  expect_equal(coef(single), coef(coxph(Surv(time, status) ~ age + sex, lung_complete())), tolerance = 1e-12)
})

test_that("coxph's own tools work on the fit; broom's tidy agrees with ours", {
  fit <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder_subset(),
                          model = "pwp-total")
  expect_equal(nrow(summary(fit)$coefficients), 3)
  expect_length(predict(fit, type = "lp"), fit$n)
  ag <- sb_fit_classical(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder_subset(), model = "ag")
  expect_s3_class(survfit(ag), "survfit")
  td <- tidy(fit)
  expect_equal(td$estimate, unname(coef(fit)), tolerance = 1e-14)
  expect_equal(td$std.error, unname(sqrt(diag(vcov(fit)))), tolerance = 1e-14)
  skip_if_not_installed("broom")
  ref <- broom:::tidy.coxph(fit)  # broom's own method on the same coxph object
  expect_equal(td$estimate, ref$estimate, tolerance = 1e-14)
  expect_equal(td$p.value, ref$p.value, tolerance = 1e-12)
  gl <- glance(fit)
  expect_equal(gl$logLik, fit$loglik[2])
  expect_equal(gl$AIC, AIC(fit))
  expect_equal(gl$n.subjects, 85)
})

test_that("bad input gets an error naming the column and rows", {
  d <- bladder_subset()
  d$size[c(3, 7)] <- NA
  expect_error(sb_fit_classical(Surv(start, stop, event) ~ rx + size + cluster(id), d, model = "ag",
                                na.action = na.fail),
               "column 'size' has NA in 2 row\\(s\\) \\(rows 3, 7\\)")
  expect_error(sb_fit_classical(Surv(start, stop, event) ~ rx, bladder_subset(), model = "ag"), "subject")
  expect_error(sb_fit_classical(stop ~ rx, bladder_subset(), model = "cox"), "left side must be a Surv")
  expect_error(sb_fit_classical(Surv(time, status) ~ age, lung_complete(), model = "ag"), "counting-process")
  expect_error(sb_fit_classical(Surv(start, stop, event) ~ rx + nope + cluster(id), bladder_subset()),
               "column 'nope' is not in the data")
})
