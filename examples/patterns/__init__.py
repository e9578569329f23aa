"""The cookbook's patterns (docs/patterns/): one module per pattern, each a client and its functions.

Every module defines `client` and `functions`; serve them with
`stepstone.fastapi.serve(app, client, functions)`. `services` holds in-memory stand-ins for the
outside world (mailer, payments, LLM, ...). tests/patterns runs each pattern on a real engine.
"""
