//! `handprop-report`: turns a results directory into charts, statistics and an HTML report.
