"""The one exception type that carries a user-facing message.

Library code raises `VraagbaakError` (or a subclass) when input is bad in a way the user can fix:
a missing corpus folder, an unreadable file, an index built with another embedder. The CLI prints
the message as one line and exits non-zero; the HTTP layer turns it into its error body.
"""


class VraagbaakError(Exception):
    """A problem the user can fix; the message names the bad value and is shown as-is."""


class CorpusError(VraagbaakError):
    """The corpus folder or one of its files cannot be used."""


class IndexStoreError(VraagbaakError):
    """The index on disk is missing, damaged, or built with another embedder."""


class GeneratorError(VraagbaakError):
    """A language-model backend failed (e.g. a remote server answered with an error): HTTP 502."""


class GeneratorTimeout(GeneratorError):
    """A language-model backend did not answer in time: HTTP 504."""


class Busy(VraagbaakError):
    """The generation queue is full; try again later: HTTP 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after
