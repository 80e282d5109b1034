"""``acctwh``: the command line of Account Warehouse.

    acctwh simulator generate --scale demo --out DIR     write a synthetic CRM dataset folder
    acctwh simulator serve --dataset DIR [--port N]      serve a dataset as Salesforce + HubSpot APIs
    acctwh demo [--scale S | --dataset DIR] [--days N]   the end-to-end demo on the simulator

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

EXIT_USAGE = 2


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
    return parser


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
