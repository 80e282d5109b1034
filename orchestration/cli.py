"""``acctwh``: the command line of Account Warehouse.

    acctwh simulator generate --scale demo --out DIR     write a synthetic CRM dataset folder
    acctwh simulator serve --dataset DIR [--port N]      serve a dataset as Salesforce + HubSpot APIs
    acctwh demo [--scale S | --dataset DIR] [--days N]   the end-to-end demo on the simulator
    acctwh ingest [--source S] [--full-refresh] [--home DIR]  sync the CRMs into the raw layer (no Dagster)
    acctwh rollback [--home DIR] [--to VERSION] [--list]  serve the previous published marts again
    acctwh erase --email ADDRESS [--home DIR]             erase one person everywhere under the warehouse home
    acctwh bench [--scale S | --scales A,B | --scaling] [--reps N] [--update-readme]  benchmark (bench/run.py)

Errors a user can fix (a bad dataset file, a port in use) print one clear line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
INGEST_SOURCES = ("salesforce", "hubspot")


class CliError(Exception):
    """An error to show the user as one line, without a traceback."""


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def _add_dataset_source(parser: argparse.ArgumentParser) -> None:
    from connectors.simulator.dataset.presets import PRESETS

    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scale", choices=sorted(PRESETS), help="generate a synthetic dataset of this size")
    source.add_argument("--dataset", type=Path, help="serve this dataset folder (e.g. a CRM export)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--as-of", type=_parse_date, default=None, help="as-of date, YYYY-MM-DD (default today)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acctwh", description="Account Warehouse: B2B account analytics "
                                     "from Salesforce and HubSpot.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulator", help="the bundled Salesforce + HubSpot API simulator")
    sim_sub = sim.add_subparsers(dest="simulator_command", required=True)

    gen = sim_sub.add_parser("generate", help="write a synthetic CRM dataset folder")
    gen.add_argument("--scale", default="demo", help="tiny, small, demo or large (default demo)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--as-of", type=_parse_date, default=None, help="YYYY-MM-DD (default today)")
    gen.add_argument("--out", type=Path, required=True, help="folder to write")
    gen.add_argument("--force", action="store_true", help="replace the folder if it exists")

    serve = sim_sub.add_parser("serve", help="serve a dataset folder in the foreground")
    serve.add_argument("--dataset", type=Path, required=True)
    serve.add_argument("--port", type=int, default=0, help="Salesforce port (default: a free port)")
    serve.add_argument("--hubspot-port", type=int, default=0, help="HubSpot port (default: a free port)")
    serve.add_argument("--faults", type=Path, help="JSON file with a list of faults to inject")
    serve.add_argument("--require-credentials", action="store_true",
                       help="accept only the credentials in SALESFORCE_* / HUBSPOT_ACCESS_TOKEN")
    serve.add_argument("--log-requests", action="store_true")

    demo = sub.add_parser("demo", help="run the pipeline end to end on the simulator")
    _add_dataset_source(demo)
    demo.add_argument("--home", type=Path, default=Path("warehouse"), help="warehouse folder (default ./warehouse)")
    demo.add_argument("--days", type=int, default=0, help="then advance the simulated CRMs N days, refreshing")

    ingest = sub.add_parser("ingest", help="sync Salesforce and/or HubSpot into the raw layer (no Dagster needed)")
    ingest.add_argument("--source", choices=INGEST_SOURCES, help="one source (default: both)")
    ingest.add_argument("--full-refresh", action="store_true", help="re-read everything instead of the increment")
    ingest.add_argument("--home", type=Path, default=None,
                        help="warehouse folder (default $ACCTWH_HOME, else ./warehouse)")

    rollback = sub.add_parser("rollback", help="serve the previously published marts again (BI sees it at once)")
    rollback.add_argument("--home", type=Path, default=None,
                          help="warehouse folder (default $ACCTWH_HOME, else ./warehouse)")
    rollback.add_argument("--to", metavar="VERSION", default=None, help="restore this kept version instead")
    rollback.add_argument("--list", action="store_true", help="only list the kept versions")

    erase = sub.add_parser("erase", help="erase one person from raw, models and every kept serving version")
    erase.add_argument("--email", required=True, metavar="ADDRESS", help="the person's email address (never stored)")
    erase.add_argument("--home", type=Path, default=None,
                       help="warehouse folder (default $ACCTWH_HOME, else ./warehouse)")

    _add_bench(sub)
    return parser


def _add_bench(sub: Any) -> None:
    """``acctwh bench``: the options live in bench/run.py (a source checkout; an installed wheel has no bench/)."""
    bench = sub.add_parser("bench", help="benchmark every stage on the simulator (bench/run.py)")
    try:
        from bench.run import add_arguments
    except ImportError:
        return
    add_arguments(bench)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from connectors.simulator.dataset.folder import DatasetError

    try:
        if args.command == "simulator" and args.simulator_command == "generate":
            return _generate(args)
        if args.command == "simulator" and args.simulator_command == "serve":
            return _serve(args)
        if args.command == "demo":
            from orchestration.demo import run_demo

            return run_demo(scale=args.scale, dataset_dir=args.dataset, seed=args.seed, as_of=args.as_of,
                            home=args.home, days=args.days)
        if args.command == "ingest":
            return _ingest(args)
        if args.command == "rollback":
            return _rollback(args)
        if args.command == "erase":
            return _erase(args)
        if args.command == "bench":
            return _bench(args, argv)
    except (CliError, DatasetError, FileExistsError, ValueError) as exc:
        print(f"acctwh: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"acctwh: error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("acctwh: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def _generate(args: argparse.Namespace) -> int:
    from connectors.simulator.dataset.folder import save
    from connectors.simulator.dataset.generate import generate
    from connectors.simulator.dataset.presets import PRESETS

    if args.scale not in PRESETS:
        raise CliError(f"unknown scale {args.scale!r}; choose one of {', '.join(sorted(PRESETS))}")
    if args.out.exists() and not args.force:
        raise CliError(f"{args.out} already exists; pass --force to replace it")
    started = time.perf_counter()
    dataset = generate(args.scale, seed=args.seed, as_of=args.as_of, progress=True)
    generated = time.perf_counter() - started
    out = save(dataset, args.out, overwrite=args.force, progress=True)
    total = time.perf_counter() - started
    print(f"wrote {out} (scale {args.scale}, seed {args.seed}, as-of {dataset.meta.get('as_of')}) "
          f"in {total:.1f}s (generate {generated:.1f}s)")
    for line in summarize_counts(dataset):
        print(f"  {line}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    """Run the connectors directly: a progress bar per object, a per-object table, non-zero on partial/failed."""
    import os

    from connectors.hubspot.config import HubSpotConfig
    from connectors.hubspot.errors import ConfigError as HubSpotConfigError
    from connectors.salesforce.config import SalesforceConfig
    from connectors.salesforce.errors import ConfigError as SalesforceConfigError
    from connectors.salesforce.sync import SyncOptions
    from connectors.warehouse.errors import LoadError
    from connectors.warehouse.raw import RawWarehouse

    sources = [args.source] if args.source else list(INGEST_SOURCES)
    configs: dict[str, Any] = {}
    try:  # every configuration problem before anything runs
        if "salesforce" in sources:
            configs["salesforce"] = SalesforceConfig.from_env()
            SyncOptions.from_env()  # its tuning variables too: a bad value fails here, before any source runs
        if "hubspot" in sources:
            configs["hubspot"] = HubSpotConfig.from_env()
    except (SalesforceConfigError, HubSpotConfigError) as exc:
        raise CliError(str(exc)) from None
    home = args.home or Path(os.environ.get("ACCTWH_HOME") or "warehouse")
    home.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, Any]] = []
    started = time.perf_counter()
    with RawWarehouse(home / "working.duckdb") as wh:
        for source in sources:
            runner = _ingest_salesforce if source == "salesforce" else _ingest_hubspot
            try:
                rows += [(source, r) for r in runner(configs[source], wh, args.full_refresh)]
            except LoadError as exc:  # rolled back; what committed before stays
                print(f"acctwh: {source} load failed: {exc}", file=sys.stderr)
                return 1
    for line in ingest_table(rows):
        print(line)
    bad = [(s, r) for s, r in rows if getattr(r, "status", "") != "success"]
    print(f"{len(rows) - len(bad)} of {len(rows)} streams succeeded in {time.perf_counter() - started:.1f}s "
          f"({home / 'working.duckdb'})")
    if bad:
        source, first = bad[0]
        more = f" (also not done: {', '.join(f'{s} {r.object}' for s, r in bad[1:])})" if len(bad) > 1 else ""
        print(f"acctwh: ingest incomplete: {source} {first.object} {first.status}: "
              f"{(first.message or 'no message').splitlines()[0]}{more}", file=sys.stderr)
        return 1
    return 0


def _rollback(args: argparse.Namespace) -> int:
    """List the kept versions, or swap the previous (or ``--to``) one in; exit 2 with one line when impossible."""
    import os

    from connectors.warehouse.serving import ServingError, list_versions, rollback

    home = args.home or Path(os.environ.get("ACCTWH_HOME") or "warehouse")
    serving_db = home / "serving" / "marts.duckdb"
    if args.list:
        versions = list_versions(home)
        if not versions:
            raise CliError(f"no published versions in {home / 'serving' / 'versions'}")
        for line in versions_table(versions):
            print(line)
        return 0
    before = next((v.version for v in list_versions(home) if v.serving), None)
    try:
        now = rollback(home, args.to)
    except ServingError as exc:
        raise CliError(str(exc)) from None
    print(f"now serving {now} (was {before or 'unknown'})")
    print(f"  DuckDB:  {serving_db}")
    print(f"  Parquet: {home / 'serving' / 'parquet'}")
    return 0


def _bench(args: argparse.Namespace, argv: list[str] | None) -> int:
    try:
        from bench.run import run
    except ImportError:
        raise CliError("acctwh bench needs a source checkout (the bench/ folder next to orchestration/)") from None
    given = list(sys.argv[1:] if argv is None else argv)
    return run(args, given[given.index("bench") + 1:] if "bench" in given else given)


def _erase(args: argparse.Namespace) -> int:
    """Erase one person; prints only the HMAC key and row counts (the address is never echoed)."""
    import os

    from connectors.warehouse.erase import ErasureError, erase_person
    from connectors.warehouse.person_key import PersonKeyError

    home = args.home or Path(os.environ.get("ACCTWH_HOME") or "warehouse")
    try:
        result = erase_person(home, args.email)
    except (ErasureError, PersonKeyError) as exc:
        raise CliError(str(exc)) from None
    serving = sum(result.serving_rows_deleted.values())
    print(f"erased person {result.person_key[:16]}: {sum(result.rows_deleted.values()):,} rows in "
          f"{len(result.rows_deleted)} tables of {home / 'working.duckdb'} (file rewritten), {serving:,} rows in "
          f"{sum(1 for n in result.serving_rows_deleted.values() if n)} of {len(result.serving_rows_deleted)} "
          "kept serving versions")
    for table, rows in sorted(result.rows_deleted.items()):
        print(f"  {table:<48} {rows:>6,}")
    print(f"recorded in _meta.erasures; {result.suppressed_records} source records on the suppression list "
          "(_meta.erased_people), so the next ingest keeps them out")
    return 0


def versions_table(versions: list[Any]) -> list[str]:
    """``--list``: newest first; ``*`` marks what BI reads (``*duckdb``/``*parquet`` if the two disagree)."""
    header = ("", "version", "published at", "marts", "rows")
    marks = {(True, True): "*", (True, False): "*duckdb", (False, True): "*parquet"}
    body = [(marks.get((v.serving, v.parquet), ""), v.version, v.published_at[:19].replace("T", " "),
             str(len(v.row_counts)), f"{sum(v.row_counts.values()):,}") for v in versions]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return ["  ".join(c.rjust(w) if i == 4 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            .rstrip() for row in [header, *body]]


def _ingest_salesforce(config: Any, wh: Any, full_refresh: bool) -> list[Any]:
    from tqdm import tqdm

    from connectors.salesforce.client import connect
    from connectors.salesforce.errors import SessionExpiredError, TransientError
    from connectors.salesforce.sync import SyncOptions, sync_salesforce

    options = SyncOptions.from_env(full_refresh=full_refresh)  # validated in _ingest before any source ran
    try:
        client = connect(config, **options.connect_kwargs())
    except (SessionExpiredError, TransientError) as exc:
        raise CliError(str(exc)) from None
    bars: dict[str, tqdm] = {}

    def progress(obj: str, loaded: int) -> None:
        if obj not in bars:
            for bar in bars.values():
                bar.close()
            bars[obj] = tqdm(desc=f"salesforce {obj}", unit=" rows", file=sys.stderr, dynamic_ncols=True)
        bars[obj].update(loaded - bars[obj].n)

    try:
        return list(sync_salesforce(config, wh, full_refresh=full_refresh, progress=progress,
                                    options=options, client=client))
    finally:
        for bar in bars.values():
            bar.close()


def _ingest_hubspot(config: Any, wh: Any, full_refresh: bool) -> list[Any]:
    from tqdm import tqdm

    from connectors.hubspot.errors import HubSpotError
    from connectors.hubspot.sync import sync_hubspot

    objects = list(config.objects)
    done: list[Any] = []
    with tqdm(total=2 + len(objects), desc="hubspot", unit=" stream", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(result: Any) -> None:
            done.append(result)
            bar.set_postfix_str(f"{result.object} {result.status}")
            bar.update(1)

        try:
            sync_hubspot(config, wh, objects=objects, full_refresh=full_refresh, progress=progress)
        except HubSpotError as exc:  # e.g. a bad token on the first call
            raise CliError(f"HubSpot: {exc}") from None
    return done


def ingest_table(rows: list[tuple[str, Any]]) -> list[str]:
    """The per-object summary: status, inserted, updated, deleted, API calls, path, duration."""
    header = ("source", "object", "status", "inserted", "updated", "deleted", "api calls", "path", "duration")
    body = []
    for source, r in rows:
        path = getattr(r, "api_path", None) or ("search" if "search" in (getattr(r, "details", None) or {})
                                                else "list" if source == "hubspot" else "")
        body.append((source, r.object, r.status, f"{r.rows_inserted:,}", f"{r.rows_updated:,}",
                     f"{r.rows_deleted:,}", f"{r.api_calls:,}", path, f"{r.duration_s:.1f}s"))
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    numeric = {3, 4, 5, 6, 8}

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(str(v).rjust(w) if i in numeric else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return [fmt(header), *(fmt(row) for row in body)]


def summarize_counts(dataset: object) -> list[str]:
    from connectors.simulator.dataset.store import Dataset

    assert isinstance(dataset, Dataset)
    sf = {obj: dataset.count(dataset.sf_table(obj)) for obj in dataset.sf_objects()}
    hs = {t: dataset.count(dataset.hs_table(t)) for t in dataset.hs_object_types()}
    return [
        "salesforce: " + ", ".join(f"{k} {v:,}" for k, v in sf.items()),
        "hubspot: " + ", ".join(f"{k} {v:,}" for k, v in hs.items()),
    ]


def _load_faults(path: Path | None) -> object:
    from connectors.simulator.server.faults import Fault, FaultPlan

    plan = FaultPlan()
    if path is None:
        return plan
    try:
        specs = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}, line {exc.lineno}: malformed JSON: {exc.msg}") from exc
    if not isinstance(specs, list):
        raise CliError(f"{path}: expected a JSON list of faults")
    for i, spec in enumerate(specs):
        try:
            plan.faults.append(Fault.from_dict(spec))
        except (TypeError, ValueError) as exc:
            raise CliError(f"{path}: fault #{i + 1}: {exc}") from exc
    return plan


def _serve(args: argparse.Namespace) -> int:
    import os

    from connectors.simulator.dataset.folder import load
    from connectors.simulator.server.settings import SimulatorSettings
    from connectors.simulator.server.simulator import CrmSimulator

    dataset = load(args.dataset, progress=True)
    settings = SimulatorSettings.default()
    if args.require_credentials:
        sf, hs = settings.salesforce, settings.hubspot
        sf.require_credentials = hs.require_credentials = True
        sf.username = os.environ.get("SALESFORCE_USERNAME")
        sf.password = os.environ.get("SALESFORCE_PASSWORD")
        sf.security_token = os.environ.get("SALESFORCE_SECURITY_TOKEN")
        sf.consumer_key = os.environ.get("SALESFORCE_CONSUMER_KEY")
        sf.consumer_secret = os.environ.get("SALESFORCE_CONSUMER_SECRET")
        hs.access_token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
    sim = CrmSimulator(dataset, settings=settings, faults=_load_faults(args.faults),  # type: ignore[arg-type]
                       salesforce_port=args.port, hubspot_port=args.hubspot_port, log_requests=args.log_requests)
    with sim:
        print(f"Salesforce: {sim.salesforce_url}   (SALESFORCE_URL={sim.salesforce_url})")
        print(f"HubSpot:    {sim.hubspot_url}   (HUBSPOT_URL={sim.hubspot_url})")
        print("Serving until Ctrl-C.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
