library(testthat)
library(survbridge)
test_check("survbridge")
