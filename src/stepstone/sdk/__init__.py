"""The Stepstone Python SDK: the client, functions, steps and serve adapters.

Users import from `stepstone` (see `stepstone/__init__.py`); modules here import `stepstone.protocol`
and never `stepstone.server`.
"""
