"""Command-line interface: a thin Typer layer over the library functions.

Each command lives in its own module, which registers itself on the shared app.
"""

from __future__ import annotations

from admelabel.cli._app import app
from admelabel.cli import extract as _extract  # noqa: F401  (registers commands)
from admelabel.cli import fetch as _fetch  # noqa: F401
from admelabel.cli import augment as _augment  # noqa: F401
from admelabel.cli import train as _train  # noqa: F401
from admelabel.cli import annotate as _annotate  # noqa: F401
from admelabel.cli import bench as _bench  # noqa: F401
from admelabel.cli import report as _report  # noqa: F401

__all__ = ["app", "main"]


def main() -> None:
    """Run the admelabel command line."""
    app()
