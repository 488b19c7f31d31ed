"""Every error the service side raises or catches, in one module: import them from here.

`VraagbaakError` (bad input the user can fix; HTTP 400/422) and the index's `CorpusError` and
`IndexStoreError` come from index/errors.py (the index does not import the service); the service adds
the language model's failures and backpressure. The HTTP status of each is in service/api/errors.py.
"""

from index.errors import CorpusError, IndexStoreError, VraagbaakError

__all__ = ["Busy", "CorpusError", "GeneratorError", "GeneratorTimeout", "IndexStoreError", "VraagbaakError"]


class GeneratorError(VraagbaakError):
    """A language-model backend failed (e.g. a remote server answered with an error): HTTP 502."""


class GeneratorTimeout(GeneratorError):
    """A language-model backend did not answer in time: HTTP 504."""


class Busy(VraagbaakError):
    """The generation queue is full; try again later: HTTP 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after
