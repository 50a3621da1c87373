# Run survbridge's testthat tests against the installed package and print one closing line CI
# can count: "R tests (testthat): <passed> passed, <failed> failed, <skipped> skipped".
# Usage: Rscript r/tests/run_tests.R   (from the repository root; `make test` does this)
suppressPackageStartupMessages({ library(testthat); library(survbridge) })
res <- as.data.frame(testthat::test_dir("r/tests/testthat", package = "survbridge", load_package = "installed",
                                        reporter = testthat::ProgressReporter$new(show_praise = FALSE),
                                        stop_on_failure = FALSE))
failed <- sum(res$failed) + sum(res$error)
cat(sprintf("\nR tests (testthat): %d passed, %d failed, %d skipped, %d files, %.0f s\n",
            sum(res$passed), failed, sum(res$skipped), length(unique(res$file)), sum(res$real)))
quit(status = if (failed > 0) 1 else 0)
