"""The Inngest SDK wire protocol, as Stepstone speaks it: pure data and pure functions.

Both the SDK (`stepstone.sdk`) and the engine (`stepstone.server`) import this package; it imports
neither, and does no I/O. `docs/protocol.md` records each fact with its source.
"""
