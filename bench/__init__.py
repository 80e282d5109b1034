"""Benchmarks of Account Warehouse: `acctwh bench` (every stage, scaling curve, limit reference, targets).

    bench/run.py         the `acctwh bench` command: stages per preset, medians, table, JSON, README block
    bench/simulator.py   the CRM simulator in its own process (generation timed there)
    bench/ingest.py      both connectors into one raw DuckDB (also as a child process, for its peak RSS)
    bench/dbt.py         `dbt build` in a subprocess, with a node progress bar
    bench/worker.py      GX checks, publish and the Dagster nightly job, each in a child process
    bench/reference.py   the limit reference: DuckDB loading the dataset's JSONL / Parquet files, no HTTP
    bench/machine.py, bench/fit.py, bench/targets.py, bench/report.py   machine info, exponents, targets, output
    bench/ingest_bench.py, bench/dbt_bench.py   the older single-stage scripts (`make bench-dbt`)
"""
