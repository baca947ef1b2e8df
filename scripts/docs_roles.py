"""MkDocs hook: the docstrings' Sphinx roles become cross-references on the site.

The package's docstrings name other objects with Sphinx roles (``:func:`hybridqnn.train.fit_qcbo```,
``:class:`~hybridqnn.errors.InputFileError```). mkdocstrings renders docstrings as Markdown, where
a role shows as the literal text ``:func:`` before the code span. This hook turns each
``:role:<code>name</code>`` of a rendered page into an *optional* autorefs cross-reference:
mkdocs-autorefs links it when ``name`` is an object the API reference documents, and otherwise
keeps it as plain code (no warning: a relative or third-party name is not an error). A leading
``~`` shows only the last component, as in Sphinx.
"""

from __future__ import annotations

import html
import re
from typing import Any

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]+)</code>")


def _autoref(match: re.Match[str]) -> str:
    short, name = match.group(1), html.unescape(match.group(2)).strip()
    identifier = name.rstrip("()")
    title = identifier.rsplit(".", 1)[-1] if short else name
    return (
        f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>'
        f"<code>{html.escape(title)}</code></autoref>"
    )


def on_page_content(html_text: str, **kwargs: Any) -> str:
    """Replace every rendered role by an optional cross-reference (see the module docstring)."""
    return _ROLE.sub(_autoref, html_text)
