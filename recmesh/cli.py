"""The `recmesh` command line. Each subcommand lives in its own module, which exposes
`add_parser(subparsers)`; the parser it adds carries the function to run as `handler`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from recmesh.config import ConfigError

# Modules that add a subcommand, by the command's name, in the order `recmesh --help` lists them.
COMMAND_MODULES = {
    "import": "recmesh.commands.import_data",
    "serve": "recmesh.commands.serve",
    "recommend": "recmesh.commands.recommend",
    "flow": "recmesh.commands.flow",
    "train": "recmesh.commands.train",
    "db": "recmesh.commands.db",
    "bench-llm": "recmesh.commands.bench_llm",
}


def requested_command(argv: list[str]) -> str | None:
    """Return the command word of argv, skipping the global --config option, or None."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser. With a known command only that command's module is imported, so that a
    service process does not load (and export the metrics of) modules it never runs."""
    parser = argparse.ArgumentParser(prog="recmesh", description="Personalised recommendations over gRPC.")
    parser.add_argument(
        "--config",
        help="TOML configuration file (default: $RECMESH_CONFIG, else the packaged defaults)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = [command] if command in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(COMMAND_MODULES[name]).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(requested_command(argv)).parse_args(argv)
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
