"""Command-line interface: ``openmm-madrax <command> ...``.

Each command lives in :mod:`openmm_madrax.commands` as a module with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; this file only dispatches.  Errors from bad input are printed as one
line (``openmm-madrax: error: ...``) with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from typing import List, Optional

from . import __version__
from .errors import MadraXError

#: command name -> module under openmm_madrax.commands
COMMANDS = {
    "score": "score",
    "fit-torsions": "fit_torsions",
    "minimize": "minimize",
    "md": "md",
    "ddg": "ddg",
    "features": "features",
    "llps": "llps",
    "ensemble": "ensemble",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openmm-madrax",
        description="The MadraX protein force field (FoldX-style physics, differentiable) for OpenMM.",
        epilog="Run 'openmm-madrax COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"openmm-madrax {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (chain breaks, neighbour lists)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = importlib.import_module(f"openmm_madrax.commands.{module}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _format_warning(message, category, filename, lineno, line=None):
    return f"openmm-madrax: warning: {message}\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="openmm-madrax: %(message)s")
    warnings.formatwarning = _format_warning
    warnings.filterwarnings("ignore", message=".*TorchScript.*")
    try:
        return int(args._run(args) or 0)
    except MadraXError as exc:
        print(f"openmm-madrax: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"openmm-madrax: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("openmm-madrax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
