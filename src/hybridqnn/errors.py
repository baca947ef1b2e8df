"""The project's error for files a user hands us.

:class:`InputFileError` is raised when a file (a data set, a config, a saved or exported model)
breaks a rule of its format or a size limit. Its message is one line that names the file, the
rule and what was found. It is a ``ValueError``, so code that catches bad values catches it too.
"""

from __future__ import annotations

__all__ = ["InputFileError"]


class InputFileError(ValueError):
    """A file breaks a rule of its format or a limit; the one-line message names the file, the
    rule and what was found."""
