"""The one exception type every data problem is reported with.

A dataset problem is almost always something a student can fix by moving a file, so every
message is a single paragraph that names the file, says what was expected and what was
found, and says what to do. The app shows it in a dialog; the CLI prints it.
"""


class DataError(ValueError):
    """A dataset could not be found, read or trusted (missing, malformed, wrong checksum).

    Subclasses ``ValueError`` so callers that validate inputs generically still catch it.
    """


class MissingDependencyError(DataError, ImportError):
    """An optional package (Pillow, scikit-learn) that a loader needs is not installed.

    It is both a ``DataError`` (the app reports it like any other data problem) and an
    ``ImportError`` (what Python code expects when a module is missing).
    """
