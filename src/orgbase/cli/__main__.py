"""``python -m orgbase.cli``: the same as the ``orgbase`` command."""

from orgbase.cli.main import main

main()
