"""cyconv lab: the PySide6 desktop app that shows a CNN learning (`python -m gui`).

The engine (cyconv) never imports this package. Pure-NumPy helpers (render, stats, explain,
model_spec, settings, snapshots, i18n) import no Qt, so they are tested without a window.
"""
