"""``orgbase seed``."""

from __future__ import annotations

import typer

app = typer.Typer(help="seed", no_args_is_help=True)
