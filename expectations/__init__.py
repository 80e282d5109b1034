"""Great Expectations suites kept as code, one per mart; they gate what BI tools may read."""
