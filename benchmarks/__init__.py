"""Benchmarks: cyconv against PyTorch and against the NumPy reference, one process per cell.

Run everything with ``python -m benchmarks.run`` from the repository root; see README.md.
"""
