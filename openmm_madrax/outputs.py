"""Output paths, checked before any work starts.

Every command and workflow that writes files calls :func:`check_output_path` on each output path
it was given, before it reads, prepares or simulates anything, so that a typo in ``-o`` costs
nothing: an unsupported extension, a folder that does not exist, a folder where a file is
expected, or a file where the folder should be is one clear :class:`~openmm_madrax.errors.MadraXError`.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

from .errors import MadraXError

#: trajectory formats the MD runner writes (by extension)
TRAJECTORY_FORMATS = (".dcd", ".xtc", ".pdb")
#: structure formats for topologies / minimised structures
STRUCTURE_FORMATS = (".pdb", ".cif", ".mmcif", ".pdbx")
#: image formats of the plots (matplotlib's Agg, PDF, SVG and PS back ends)
PLOT_FORMATS = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")


def check_output_path(path, formats: Optional[Sequence[str]] = None, what: str = "output") -> str:
    """``str(path)`` if a file can be written there, else a :class:`MadraXError`.

    ``formats``: the accepted extensions (``None``: any).  The folder must exist and be a
    folder, and ``path`` must not be a folder."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise MadraXError(f"{what} {path!r} is a folder; give a file name")
    if formats is not None:
        ext = os.path.splitext(path)[1].lower()
        if ext not in formats:
            raise MadraXError(f"{what} {path!r}: unsupported format {ext or '(no extension)'}; use "
                              f"{', '.join(formats)}")
    _check_parent_folder(path, what)
    return path


def check_output_dir(path, what: str = "output folder") -> str:
    """``str(path)`` if it is a folder or can be created as one in an existing folder, else a
    :class:`MadraXError`."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise MadraXError(f"{what} {path!r} is a file")
    _check_parent_folder(path, what)
    return path


def _check_parent_folder(path: str, what: str) -> None:
    """The folder that holds ``path`` exists and is a folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        # a file on the way (out.csv/x.pdb) makes the folder look missing: name the file instead
        parent = folder
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if parent and not os.path.isdir(parent):
            raise MadraXError(f"{what} {path!r}: {parent} is a file, not a folder")
        raise MadraXError(f"{what} {path!r}: the folder {folder} does not exist; create it first")
    if not os.path.isdir(folder):
        raise MadraXError(f"{what} {path!r}: {folder} is a file, not a folder")


def check_output_paths(*items) -> None:
    """:func:`check_output_path` for each ``(path, formats, what)``; ``None`` paths are skipped."""
    for path, formats, what in items:
        if path is not None and path != "":
            check_output_path(path, formats, what)
