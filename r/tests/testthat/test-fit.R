# Neural models from R. References: the same Python model fitted in Python on the same design
# (model.matrix columns) and seed; R's RNG for seed = NULL; closed forms (risk = exp(lp),
# survival in [0, 1] and non-increasing in t).

test_that("set.seed() makes a fit reproducible; predict gives lp, risk and a survival matrix", {
  skip_if_no_python()
  lung <- lung_complete()
  set.seed(11)
  a <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 15, hidden = c(8, 4))
  set.seed(11)
  b <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 15, hidden = c(8, 4))
  expect_identical(a$seed, b$seed)
  expect_identical(predict(a, lung, type = "lp"), predict(b, lung, type = "lp"))
  expect_identical(a$covariates, c("age", "sexfemale", "ph.ecog"))  # model.matrix's one-hot coding
  lp <- predict(a, lung[1:5, ], type = "lp")
  expect_equal(predict(a, lung[1:5, ], type = "risk"), exp(lp), tolerance = 1e-12)
  s <- predict(a, lung[1:5, ], type = "survival", times = c(100, 200, 400))
  expect_equal(dim(s), c(5L, 3L))
  expect_identical(colnames(s), c("100", "200", "400"))
  expect_true(all(s >= 0 & s <= 1) && all(diff(t(s)) <= 0))
  expect_output(print(a), "deepsurv fit")
  expect_output(print(summary(a)), "hyper-parameters: hidden = 8,4")
  expect_equal(glance(a)$n.params, a$n_params)
})

test_that("the R fit equals the same model fitted in Python on the same design and seed", {
  skip_if_no_python()
  lung <- lung_complete()
  fit <- sb_fit("nnet-survival", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, batch_size = 32,
                seed = 3)
  X <- model.matrix(~ age + sex + ph.ecog, lung)[, -1]
  np <- reticulate::import("numpy", convert = FALSE)
  m <- reticulate::import("pysurvbridge.models", convert = FALSE)
  d <- reticulate::import("pysurvbridge.data", convert = FALSE)
  data <- d$SurvivalData$from_arrays(np$asarray(lung$time), np$asarray(lung$status), np$asarray(unname(X)),
                                     reticulate::r_to_py(colnames(X)))
  ref <- m$NnetSurvival()$fit(data, epochs = 5L, batch_size = 32L, seed = 3L, verbose = FALSE)
  expected <- as.vector(reticulate::py_to_r(ref$predict_risk(np$asarray(unname(X)))))
  expect_equal(unname(predict(fit, lung, type = "lp")), expected, tolerance = 1e-12)
})

test_that("a '.' formula takes every other column (never the response or the cluster id)", {
  skip_if_no_python()
  lung <- lung_complete()
  fit <- sb_fit("deepsurv", Surv(time, status) ~ ., lung, epochs = 2, seed = 1)
  expect_identical(fit$covariates, c("age", "sexfemale", "ph.ecog"))
  ag <- sb_fit_classical(Surv(start, stop, event) ~ . + cluster(id),
                         bladder2[, c("id", "rx", "number", "size", "start", "stop", "event")], model = "ag")
  expect_identical(names(coef(ag)), c("rx", "number", "size"))
})

test_that("LSTM-Cox on recurrent rows: lp per row, survival per subject", {
  skip_if_no_python()
  d <- bladder_subset()
  set.seed(5)
  fit <- sb_fit("lstm-cox", Surv(start, stop, event) ~ rx + number + size + cluster(id), d, epochs = 3)
  new <- d[d$id %in% c(2, 3, 5), ]
  lp <- predict(fit, new, type = "lp")
  expect_length(lp, nrow(new))
  s <- predict(fit, new, type = "survival", times = c(10, 30))
  expect_identical(rownames(s), c("2", "3", "5"))
  expect_error(sb_fit("lstm-cox", Surv(time, status) ~ age, lung_complete()), "recurrent events")
})

test_that("CoxVAE and MENSA (single event and competing risks) fit and predict from R", {
  skip_if_no_python()
  lung <- lung_complete()
  v <- sb_fit("coxvae", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 2, seed = 1)
  expect_length(predict(v, lung[1:4, ]), 4)
  m <- sb_fit("mensa", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 3, seed = 1)
  expect_equal(dim(predict(m, lung[1:4, ], type = "survival", times = c(100, 300))), c(4L, 2L))
  cr <- lung
  cr$cause <- factor(ifelse(cr$status == 0, "censored", ifelse(cr$ph.ecog >= 2, "early", "late")),
                     levels = c("censored", "early", "late"))
  mc <- sb_fit("mensa", Surv(time, cause) ~ age + sex, cr, epochs = 3, seed = 1)
  s <- predict(mc, cr[1:3, ], type = "survival", times = c(100, 300))  # one matrix per cause
  expect_named(s, c("early", "late"))
  expect_identical(dimnames(s$early), list(c("1", "2", "3"), c("100", "300")))
  expect_identical(colnames(predict(mc, cr[1:3, ], type = "lp")), c("early", "late"))
})

test_that("bad input gets a clear error, not a traceback from torch", {
  skip_if_no_python()
  lung <- lung_complete()
  lung$age[c(2, 9)] <- NA
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ age + sex, lung, epochs = 1, na.action = na.fail),
               "na.action = na.fail: column 'age' has NA in 2 row\\(s\\) \\(rows 2, 9\\)")
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ sex, lung_complete(), epochs = 1, 5),
               "must be named")
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ sex, lung_complete(), epochs = 1, hiden = 3), "hiden")
  expect_error(sb_fit("deepsurv", Surv(time, status) ~ sex, lung_complete(), seed = -1), "seed")
  fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex, lung_complete(), epochs = 1, seed = 1)
  expect_error(predict(fit, lung_complete(), type = "survival"), "times")
})

test_that("a Python started from R as a child process is the same Python reticulate embeds", {
  # R puts /usr/lib/<arch> first in LD_LIBRARY_PATH; a pyenv Python started with it loaded Debian's
  # libpython (doctor reported 3.11.2 for 3.11.7). Reference: the embedded interpreter's sys.version.
  skip_if_no_python()
  env <- survbridge:::.sb_child_env()
  expect_false(grepl(R.home(), env, fixed = TRUE))
  child <- system2(survbridge_python(), c("-c", shQuote("import sys; print(sys.version)")), env = env,
                   stdout = TRUE)
  embedded <- reticulate::import("sys")$version
  expect_identical(child[1], strsplit(embedded, "\n", fixed = TRUE)[[1]][1])
})
