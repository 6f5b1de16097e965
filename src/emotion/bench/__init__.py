"""Benchmarks that print figures: `python -m emotion bench model|perception|e2e [--json]`.

Each is a module with ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""
