"""The prompt library (issue 20): a folder of prompt files plus the store.

* :mod:`promptwork.library.files`: finding and reading a library folder's prompt files.
* :mod:`promptwork.library.sync`: recording them as versions (``prompts sync``, every eval).
* :mod:`promptwork.library.lock`: labels in ``prompts.lock.yaml``, mirrored in the store.
* :mod:`promptwork.library.measures`: last and best pass rates per suite x model.
* :mod:`promptwork.library.search`: :func:`search`, by content and by measured performance.
* :mod:`promptwork.library.served`: a prompt by name and label or version, parsed (serving).
* :mod:`promptwork.library.cards`: prompt cards and the Markdown/CSV export.
"""

from __future__ import annotations

from promptwork.library.search import SearchResults, SearchRow, search

__all__ = ["SearchResults", "SearchRow", "search"]
