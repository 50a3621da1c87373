# R CMD check of the R package survbridge through rcmdcheck; scripts/test_r.sh runs it as
#   Rscript scripts/check_r.R <package folder> <check folder>
# rcmdcheck builds the tarball (R CMD build, the vignette included) and runs R CMD check --no-manual
# on it with NOT_CRAN=true (the tests that CRAN would skip run) and _R_CHECK_VIGNETTES_SKIP_RUN_MAYBE_
# (the vignette is re-built once, not also run as a script: CRAN's own setting), with the time of
# each long step in the log (_R_CHECK_TIMINGS_ = 0). The check's output
# streams as it runs; then come its problems in full and two closing lines:
#   R CMD check: Status: OK (0 errors, 0 warnings, 0 notes), <seconds> s
#   R tests (testthat): N passed, F failed, S skipped, W warnings (inside R CMD check)
# Exit status 1 on an ERROR, WARNING or NOTE (SURVBRIDGE_CHECK_ERROR_ON = "warning" or "error"
# tolerates the lesser ones) or a failed test.
if (!nzchar(Sys.getenv("TZ"))) Sys.setenv(TZ = "UTC")  # else R asks timedatectl, which fails in containers
args <- commandArgs(trailingOnly = TRUE)
pkg <- args[1]
check_dir <- args[2]
error_on <- Sys.getenv("SURVBRIDGE_CHECK_ERROR_ON", "note")
t0 <- proc.time()[["elapsed"]]
# --no-build-vignettes: R CMD build (the first step here) has already built the vignette into the
# tarball; rebuilding it inside the check would cost another 30 s of make test's 20-minute budget
res <- rcmdcheck::rcmdcheck(pkg, quiet = FALSE, args = c("--no-manual", "--no-build-vignettes"),
                            check_dir = check_dir, error_on = "never",
                            env = c(NOT_CRAN = "true", `_R_CHECK_VIGNETTES_SKIP_RUN_MAYBE_` = "true",
                                    `_R_CHECK_TIMINGS_` = "0"))
seconds <- proc.time()[["elapsed"]] - t0
cat("\n")
print(res)

# testthat's closing counts, "[ FAIL 0 | WARN 0 | SKIP 0 | PASS 110 ]", and the reasons of the skips
rout <- Sys.glob(file.path(check_dir, "*.Rcheck", "tests", "*.Rout*"))
tests <- paste(c(unlist(res$test_output), unlist(lapply(rout, readLines, warn = FALSE))), collapse = "\n")
counts <- regmatches(tests, gregexpr("\\[ FAIL [0-9]+ \\| WARN [0-9]+ \\| SKIP [0-9]+ \\| PASS [0-9]+ \\]", tests))[[1]]
skips <- grep("^\u2022 |^- ", strsplit(tests, "\n")[[1]], value = TRUE)
if (length(skips)) cat("Skipped tests:\n", paste0("  ", skips, "\n"), sep = "")

n <- c(errors = length(res$errors), warnings = length(res$warnings), notes = length(res$notes))
status <- grep("^Status: ", strsplit(res$stdout, "\n")[[1]], value = TRUE)
status <- if (length(status)) utils::tail(status, 1) else "Status: unknown (R CMD check did not finish)"
cat(sprintf("\nR CMD check: %s (%d errors, %d warnings, %d notes), %.0f s\n", status, n[["errors"]],
            n[["warnings"]], n[["notes"]], seconds))
failed <- NA_integer_
if (length(counts)) {
  k <- as.integer(regmatches(utils::tail(counts, 1), gregexpr("[0-9]+", utils::tail(counts, 1)))[[1]])
  failed <- k[1]
  cat(sprintf("R tests (testthat): %d passed, %d failed, %d skipped, %d warnings (inside R CMD check)\n",
              k[4], k[1], k[3], k[2]))
} else {
  cat("R tests (testthat): no result: the tests did not run to the end (see the check's output above)\n")
}
levels <- c(error = 1L, warning = 2L, note = 3L)
worst <- if (n[["errors"]]) 1L else if (n[["warnings"]]) 2L else if (n[["notes"]]) 3L else 4L
bad <- worst <= levels[[match.arg(error_on, names(levels))]] || is.na(failed) || failed > 0
quit(status = if (bad) 1L else 0L)
