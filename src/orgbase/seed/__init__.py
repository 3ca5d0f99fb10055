"""Data that orgbase can put into a database on purpose: ``demo`` is the demo world of ``make run``."""
