# The formula as survival reads it (issue 26): the response is model.frame()'s Surv object
# (1/2, TRUE/FALSE, expressions, counting process, factor status), missing values follow
# na.action, several events are one Surv() per event. References: coxph() and Surv() on the same
# formula and data (y, n, na.action, coefficients, predictions), model.frame(); for the neural
# side, the Python model fitted directly on the same design.

lung_raw <- function() survival::lung  # status 1/2 (2 = death); NA in ph.ecog, meal.cal, wt.loss, ...

test_that("the same formula gives coxph's response in sb_fit_classical: 1/2, logical, expressions", {
  lung <- lung_raw()
  lung$dead <- lung$status == 2
  formulas <- list(Surv(time, status) ~ age + sex + ph.ecog,
                   Surv(time, status == 2) ~ age + sex + ph.ecog,
                   Surv(time / 365.25, status - 1) ~ age + sex + ph.ecog,
                   Surv(time, dead) ~ age + sex + ph.ecog)
  for (f in formulas) {
    fit <- sb_fit_classical(f, lung, model = "cox")
    ref <- coxph(f, lung)
    expect_identical(fit$y, ref$y)
    expect_identical(fit$na.action, ref$na.action)
    expect_identical(fit$n, ref$n)
    expect_equal(coef(fit), coef(ref), tolerance = 1e-12)
  }
  # strata() stays a strata term of the classical fit
  st <- sb_fit_classical(Surv(time, status) ~ age + ph.ecog + strata(sex), lung, model = "cox")
  ref <- coxph(Surv(time, status) ~ age + ph.ecog + strata(sex), lung)
  expect_equal(coef(st), coef(ref), tolerance = 1e-12)
  expect_identical(st$strata, ref$strata)
})

test_that("counting-process Surv(start, stop, status == 1) with 1/2-free codes and id = equals bladder2's AG fit", {
  b <- bladder_subset()  # status 1 = recurrence, 2/3 = death (censor here)
  fit <- sb_fit_classical(Surv(start, stop, status == 1) ~ rx + number + size, b, model = "ag", id = id,
                          max_events = 4)
  ref <- coxph(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder2)
  expect_equal(coef(fit), coef(ref), tolerance = 1e-12)
  expect_equal(vcov(fit), vcov(ref), tolerance = 1e-12)
})

test_that("na.action: rows dropped and reported as coxph does (lung's NA in ph.ecog, meal.cal, wt.loss)", {
  lung <- lung_raw()
  f <- Surv(time, status) ~ age + sex + ph.ecog + meal.cal + wt.loss
  ref <- coxph(f, lung)
  fit <- sb_fit_classical(f, lung, model = "cox")
  expect_identical(fit$na.action, ref$na.action)
  expect_identical(fit$n, ref$n)
  expect_output(print(fit), naprint(ref$na.action), fixed = TRUE)  # "(n observations deleted due to missingness)"
  expect_output(print(summary(fit)), naprint(ref$na.action), fixed = TRUE)
  # na.exclude pads predict() to the data's rows, as coxph(na.action = na.exclude) does
  ex <- sb_fit_classical(f, lung, model = "cox", na.action = na.exclude)
  ref_ex <- coxph(f, lung, na.action = na.exclude)
  expect_equal(predict(ex, type = "lp"), predict(ref_ex, type = "lp"), tolerance = 1e-12)
  expect_length(predict(ex, type = "lp"), nrow(lung))
  # na.fail names every column with NA and its rows
  rows <- function(v) paste(head(which(is.na(lung[[v]])), 5), collapse = ", ")
  err <- tryCatch(sb_fit_classical(f, lung, model = "cox", na.action = na.fail), error = conditionMessage)
  expect_match(err, sprintf("column 'ph.ecog' has NA in %d row(s) (row %s)", sum(is.na(lung$ph.ecog)), rows("ph.ecog")),
               fixed = TRUE)
  expect_match(err, sprintf("column 'meal.cal' has NA in %d row(s) (rows %s", sum(is.na(lung$meal.cal)),
                            rows("meal.cal")), fixed = TRUE)
  expect_match(err, sprintf("column 'wt.loss' has NA in %d row(s)", sum(is.na(lung$wt.loss))), fixed = TRUE)
  # options(na.action =) is the default, as for coxph
  old <- options(na.action = "na.fail")
  on.exit(options(old))
  expect_error(sb_fit_classical(f, lung, model = "cox"), "na.action = na.fail")
})

test_that("bad input: an R error that names the argument", {
  lung <- lung_raw()
  neg <- lung
  neg$time[7] <- -1
  expect_error(sb_fit_classical(Surv(time, status) ~ age, neg, model = "cox"),
               "Surv\\(time, status\\) has negative times in row 7")
  three <- lung
  three$status[5] <- 3
  expect_error(sb_fit_classical(Surv(time, status) ~ age, three, model = "cox"),
               "Surv\\(time, status\\): the status 'status' must be 0/1, 1/2.* it is 3 in row 5")
  mixed <- lung
  mixed$status[c(2, 4)] <- 0  # 0, 1 and 2 together: Surv() would read 1/2 and turn 0 into -1
  expect_error(sb_fit_classical(Surv(time, status) ~ age, mixed, model = "cox"), "mixes 0 and 2 .*: 0 in rows 2, 4")
  expect_error(sb_fit_classical(time ~ age, lung, model = "cox"), "formula: the left side must be a Surv\\(\\) object")
  expect_error(sb_fit_classical(Surv(start, stop, event) ~ rx + cluster(id), transform(bladder_subset(), stop = start),
                                model = "ag"), "the stop time 'stop' must be greater than the start 'start'")
})

test_that("sb_fit reads lung as coxph does: 1/2 status, NA rows dropped and counted, Python gets the same y", {
  skip_if_no_python()
  lung <- lung_raw()
  f <- Surv(time, status) ~ age + sex + ph.ecog + meal.cal
  ref <- coxph(f, lung)
  fit <- sb_fit("deepsurv", f, lung, epochs = 2, seed = 1)
  expect_identical(fit$y, ref$y)
  expect_identical(fit$na.action, ref$na.action)
  expect_identical(fit$n, ref$n)
  expect_identical(fit$n_events, as.integer(ref$nevent))
  py <- survbridge:::.sb_py_model(fit)  # what crossed: the training times and events in Python
  expect_identical(as.vector(reticulate::py_to_r(py$train_time_)), unname(ref$y[, "time"]))
  expect_identical(as.vector(reticulate::py_to_r(py$train_event_)), unname(ref$y[, "status"]))
  expect_output(print(fit), naprint(ref$na.action), fixed = TRUE)
  expect_output(print(summary(fit)), naprint(ref$na.action), fixed = TRUE)
  # an expression response: the same y as coxph's
  ex <- sb_fit("deepsurv", Surv(time / 365.25, status == 2) ~ age + sex, lung, epochs = 1, seed = 1)
  expect_identical(ex$y, coxph(Surv(time / 365.25, status == 2) ~ age + sex, lung)$y)

  # predict: na.exclude (and the default na.pass) pad with NA; na.omit drops; na.fail names the rows
  complete <- stats::complete.cases(lung[, c("age", "sex", "ph.ecog", "meal.cal")])
  lp_complete <- predict(fit, lung[complete, ])
  lp <- predict(fit, lung, na.action = na.exclude)
  expect_length(lp, nrow(lung))
  expect_identical(unname(which(is.na(lp))), which(!complete))
  expect_identical(lp[complete], lp_complete)
  expect_identical(names(lp), rownames(lung))
  expect_identical(predict(fit, lung), lp)
  expect_identical(predict(fit, lung, na.action = na.omit), lp_complete)
  s <- predict(fit, lung[12:15, ], type = "survival", times = c(100, 200))
  expect_identical(rownames(s), as.character(12:15))
  expect_identical(unname(is.na(s[, 1])), !complete[12:15])
  expect_error(predict(fit, lung, na.action = na.fail),
               sprintf("newdata: na.action = na.fail: column 'ph.ecog' has NA in 1 row\\(s\\) \\(row %d\\)",
                       which(is.na(lung$ph.ecog))))
})

test_that("sb_fit's subjects: id = and cluster() give the same LSTM-Cox fit", {
  skip_if_no_python()
  b <- bladder_subset()
  a <- sb_fit("lstm-cox", Surv(start, stop, status == 1) ~ rx + number + size, b, id = id, epochs = 2, seed = 4)
  c <- sb_fit("lstm-cox", Surv(start, stop, status == 1) ~ rx + number + size + cluster(id), b, epochs = 2, seed = 4)
  new <- b[b$id %in% 1:6, ]
  expect_identical(predict(a, new, type = "survival", times = c(10, 20)),
                   predict(c, new, type = "survival", times = c(10, 20)))
  expect_identical(a$y, coxph(Surv(start, stop, status == 1) ~ rx + number + size, b, id = id)$y)
})

test_that("bad input to sb_fit and predict: errors naming the argument", {
  skip_if_no_python()
  lung <- lung_raw()
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ age + strata(sex), lung, epochs = 1),
               "sb_fit\\(\"deepsurv\"\\): strata\\(sex\\) in the formula")
  expect_error(sb_fit("deepsurv", time ~ age, lung, epochs = 1), "left side must be a Surv")
  neg <- lung
  neg$time[3] <- -5
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ age, neg, epochs = 1), "negative times in row 3")
  neg$time[3] <- 5
  neg$status[8] <- 3
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ age, neg, epochs = 1), "it is 3 in row 8")
  lf <- lung
  lf$sex <- factor(lf$sex, 1:2, c("male", "female"))
  fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lf, epochs = 1, seed = 1)
  expect_error(predict(fit, lf[, c("age", "sex")]), "newdata lacks column\\(s\\) 'ph.ecog'")
  nd <- lf[1:3, ]
  nd$sex <- factor(c("male", "other", "female"))
  expect_error(predict(fit, nd), "newdata: factor 'sex' has level\\(s\\) other not seen in training")
  expect_error(sb_fit("deepsurv", Surv(rtime, recur) + Surv(dtime, death) ~ age, rotterdam, epochs = 1),
               "need model = \"mensa\"")
  expect_error(sb_fit("mensa", Surv(rtime, recur) + dtime ~ age, rotterdam, epochs = 1), "one Surv\\(\\) per event")
})

rotterdam_formula <- Surv(rtime, recur) + Surv(dtime, death) ~ age + meno + size + grade + nodes + pgr + er +
  hormon + chemo

# the same rows in Python: MultiEventData.from_frame of the model.matrix columns and the event columns
rotterdam_python_data <- function(rows) {
  X <- model.matrix(~ age + meno + size + grade + nodes + pgr + er + hormon + chemo, rows)[, -1]
  frame <- data.frame(X, rtime = rows$rtime, recur = rows$recur, dtime = rows$dtime, death = rows$death,
                      check.names = FALSE)
  d <- reticulate::import("pysurvbridge.data", convert = FALSE)
  d$MultiEventData$from_frame(sb_to_pandas(frame), times = list("rtime", "dtime"), events = list("recur", "death"),
                              covariates = as.list(colnames(X)), event_names = list("recur", "death"))
}

test_that("several events from a formula: MENSA's multi mode equals MENSA fitted in Python", {
  skip_if_no_python()
  fit <- sb_fit("mensa", rotterdam_formula, rotterdam, trajectories = list(c("recur", "death")), epochs = 2, seed = 1)
  expect_identical(fit$events, c("recur", "death"))
  expect_identical(fit$n_events, c(recur = sum(rotterdam$recur), death = sum(rotterdam$death)))
  expect_output(print(fit), "events: recur 1518, death 1272")
  m <- reticulate::import("pysurvbridge.models", convert = FALSE)
  ref <- m$MENSA(mode = "multi", trajectories = list(reticulate::tuple("recur", "death")))$fit(
    rotterdam_python_data(rotterdam), epochs = 2L, random_state = 1L, verbose = FALSE)
  new <- rotterdam[c(1, 50, 900), ]
  X <- unname(model.matrix(~ age + meno + size + grade + nodes + pgr + er + hormon + chemo, new)[, -1])
  storage.mode(X) <- "double"
  s <- predict(fit, new, type = "survival", times = c(1000, 3000))
  expect_named(s, c("recur", "death"))
  expected <- reticulate::py_to_r(ref$predict_survival_array(reticulate::np_array(X, dtype = "float64"),
                                                             c(1000, 3000)))  # (n, K, times)
  expect_equal(unname(s$recur), expected[, 1, ], tolerance = 1e-12)
  expect_equal(unname(s$death), expected[, 2, ], tolerance = 1e-12)
  expect_identical(dimnames(s$death), list(rownames(new), c("1000", "3000")))
  lp <- predict(fit, new)
  expect_identical(colnames(lp), c("recur", "death"))
  expect_equal(unname(lp), reticulate::py_to_r(ref$predict_risk(reticulate::np_array(X, dtype = "float64"))),
               tolerance = 1e-12)
})

test_that("sb_compare takes the multi-event formula and equals compare() on the same MultiEventData", {
  skip_if_no_python()
  rows <- rotterdam[1:900, ]
  rows$pgr[c(4, 17)] <- NA  # dropped by na.omit, counted in $na.action
  models <- c("mensa", "earlier-event-first")
  x <- sb_compare(rows, models = models, seeds = 1, formula = rotterdam_formula, epochs = 2, bootstrap = 200L,
                  trajectories = list(c("recur", "death")))
  expect_identical(as.integer(x$na.action), c(4L, 17L))
  expect_output(print(x), "(2 observations deleted due to missingness)", fixed = TRUE)
  pysb <- reticulate::import("pysurvbridge", convert = FALSE)
  ref <- pysb$compare(rotterdam_python_data(rows[-c(4, 17), ]), list("mensa", "earlier-event-first"), seeds = 1L,
                      epochs = 2L, bootstrap = 200L, trajectories = list(reticulate::tuple("recur", "death")),
                      verbose = FALSE)
  ref_table <- sb_from_pandas(reticulate::import("pysurvbridge.rhost", convert = FALSE)$`_plain`(ref$table))
  cols <- grep("^(c_|ibs|mae_margin)", names(ref_table), value = TRUE)
  expect_true(all(c("c_global", "c_local", "c_harrell_recur", "ibs_death") %in% cols))
  expect_equal(as.matrix(x$table[cols]), as.matrix(ref_table[cols]), tolerance = 1e-12, ignore_attr = TRUE)
  expect_true(is.na(glance(x)$best.c_harrell))
})
