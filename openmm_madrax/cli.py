"""Command-line interface: ``openmm-madrax <command> ...``.

Each command lives in :mod:`openmm_madrax.commands` as a module with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; this file only dispatches.  Errors from bad input are printed as one
line (``openmm-madrax: error: ...``) with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
import warnings
from typing import List, Optional

from . import __version__
from .errors import MadraXError, MadraXWarning

#: command name -> module under openmm_madrax.commands
COMMANDS = {
    "score": "score",
    "fit-torsions": "fit_torsions",
    "minimize": "minimize",
    "md": "md",
    "ddg": "ddg",
    "features": "features",
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


@contextlib.contextmanager
def _cli_warnings():
    """While a command runs: openmm-madrax's own warnings (:class:`MadraXWarning`) are printed as
    one line ``openmm-madrax: warning: ...``; other libraries' warnings keep Python's format, and
    torch's TorchScript deprecation notes are silenced.  Restored afterwards (tests and programs
    that call :func:`main` keep their own warning handling)."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, MadraXWarning):
            print(f"openmm-madrax: warning: {message}", file=sys.stderr if file is None else file)
        else:
            original(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TorchScript.*")
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = original


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="openmm-madrax: %(message)s")
    with _cli_warnings():
        try:
            return int(args._run(args) or 0)
        except (MadraXError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            print(f"openmm-madrax: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("openmm-madrax: interrupted", file=sys.stderr)
            return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
