"""The errors of the indexing side, and the base type that carries a user-facing message.

Library code raises `VraagbaakError` (or a subclass) when input is bad in a way the user can fix:
a missing corpus folder, an unreadable file, an index built with another embedder. The CLI prints
the message as one line and exits non-zero; the HTTP layer turns it into its error body. The
service's own errors (a failing language model, a full queue) are in service/errors.py.
"""


class VraagbaakError(Exception):
    """A problem the user can fix; the message names the bad value and is shown as-is."""


class CorpusError(VraagbaakError):
    """The corpus folder or one of its files cannot be used."""


class IndexStoreError(VraagbaakError):
    """The index on disk is missing, damaged, or built with another embedder."""
