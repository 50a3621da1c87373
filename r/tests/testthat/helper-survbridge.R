# Shared by the tests: skip with the reason when Python with pysurvbridge is not usable.
skip_if_no_python <- function() {
  ok <- survbridge::sb_python_available()
  if (!isTRUE(ok)) testthat::skip(paste("Python with pysurvbridge is unavailable:", attr(ok, "reason")))
}

# bladder1 as ?bladder describes bladder2: placebo and thiotepa arms, rx 1/2, zero-length rows dropped
bladder_subset <- function() {
  b1 <- survival::bladder1
  b1 <- b1[b1$treatment != "pyridoxine" & b1$stop > b1$start, ]
  b1$event <- as.integer(b1$status == 1)
  b1$rx <- ifelse(b1$treatment == "placebo", 1, 2)
  b1
}

lung_complete <- function() {
  lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
  lung <- lung[stats::complete.cases(lung), ]
  lung$status <- lung$status - 1L
  lung$sex <- factor(lung$sex, levels = 1:2, labels = c("male", "female"))
  lung
}

# The Python of the installed survbridge, for reference runs in a separate (plain Python) process
survbridge_python <- function() {
  cands <- survbridge::sb_python_candidates()
  cands$python[cands$exists][1]
}
