"""The `recmesh` command line. Each subcommand lives in its own module, which exposes
`add_parser(subparsers)`; the parser it adds carries the function to run as `handler`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from recmesh.config import ConfigError

# Modules that add a subcommand, in the order `recmesh --help` lists them.
COMMAND_MODULES = (
    "recmesh.commands.import_data",
    "recmesh.commands.serve",
    "recmesh.commands.recommend",
    "recmesh.commands.flow",
    "recmesh.commands.train",
    "recmesh.commands.db",
    "recmesh.commands.bench_llm",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recmesh", description="Personalised recommendations over gRPC.")
    parser.add_argument(
        "--config",
        help="TOML configuration file (default: $RECMESH_CONFIG, else the packaged defaults)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except ConfigError as exc:
        print(f"recmesh: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
