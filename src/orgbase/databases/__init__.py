"""Registered external databases: their connection strings, encrypted in Python, and the keys for them.

``crypto`` (AES-256-GCM bound to the row), ``keys`` (where the keyring comes from), ``rotation`` (re-encrypt
to the current key), ``endpoints`` (what a URL says without its secret), ``registration`` (the python step of
migration ``006_register_railway_databases_production``). See docs/credentials.md.
"""
