"""Is this text Dutch? A function-word count, good enough to catch a model drifting into English.

Deliberately tiny: no language-identification model; short texts without function words are "unknown".
"""

from __future__ import annotations

import re

_NL = frozenset("de het een van en in is dat op te voor met zijn niet aan er ook als bij door om werd wordt "
                "naar heeft hebben was waren deze die dit wat hoe maar of tot over uit worden kan zou hun "
                "onder tussen na nog wel geen".split())
_EN = frozenset("the and of to is was in that for with are were this which how why but or by from has have "
                "be on as at it an not no".split())
_WORD = re.compile(r"[a-zà-ÿ]+")


def is_dutch(text: str) -> bool | None:
    """True/False by Dutch vs English function words; None when the text has too few of either."""
    words = _WORD.findall(text.lower())
    nl, en = sum(w in _NL for w in words), sum(w in _EN for w in words)
    if nl + en < 2:
        return None
    return nl > en
