"""Dutch text basics shared by the index and the service: folding, tokens, word lists, `is_dutch`.

One place for the small decisions about Dutch text that several modules make: how to fold accents
(`fold`), how names are compared (`squash`), what a token is (`raw_terms`), and the word lists. The
lists differ on purpose; each is named for the job it does:
- `STOPWORDS`: left out of the BM25 terms (question words included: they carry no topic);
- `FUNCTION_WORDS`: never glued to a neighbour when PDF cleaning rejoins split words (`op dat`);
- `NOT_NAMES`: capitalised question words and country words that refusal must not treat as names;
- `SPOKEN_FILLER`: words of spoken questions without topic, left out of refusal's coverage;
- `DUTCH_MARKERS` / `ENGLISH_MARKERS`: function words that tell the two languages apart (`is_dutch`).
Stemming and compound splitting are in index/lexical.py; sentence splitting in index/sentences.py.
Deliberately tiny: no language-identification model; short texts without function words are "unknown".
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[a-z0-9]+(?:[-/'][a-z0-9]+)*")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_WORD = re.compile(r"[a-zà-ÿ]+")

STOPWORDS = frozenset(
    """aan al alle als alles bij dan dat de deze die dit doch door dus een en er ge geen had heb hebben
    heeft het hier hij hoe hun ik in is je kan kon maar me meer men met mij mijn na naar niet niets nog
    nu of om omdat ons onze ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren
    was wat we wel werd wie wij wordt worden zal ze zelf zich zij zijn zo zou zouden the of and to welke
    welk waar wanneer waarom hoeveel""".split()
)
FUNCTION_WORDS = frozenset(
    """de het een en of te in op van voor met aan af er dat die dit deze om tot uit bij naar over door
    als is zijn was waren wordt worden werd werden heeft hebben had kan kon zal zou moet mag wil gaan
    gaat komen komt wat waar hier daar zo wel niet geen ook nog maar dan toe mee zich zij ze we wij hij
    men al na tegen onder veel meer weer dien nu reeds zeer hun haar ons u""".split()
)
NOT_NAMES = frozenset(
    {"nederland", "nederlandse", "nederlanders", "netherlands", "vn", "welke", "wat", "wie", "waar", "hoe", "hoeveel",
     "waarom", "wanneer", "in", "en", "op", "de", "het", "van", "is", "was", "zijn", "heeft", "hadden",
     "mochten", "naar", "via", "sinds", "met", "volgens",
     # English months and days are capitalised dates, not names (Dutch ones are lower-case, so the reports lack them)
     "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)
SPOKEN_FILLER = (
    "doen doet deed deden gaan gaat ging gingen komen komt kwam kwamen krijgen krijgt kreeg kregen zitten zit "
    "zat zaten staan staat stond stonden sturen stuurt stuurde stuurden zeggen zegt zei maken maakt maakte "
    "eigenlijk precies ongeveer echt naartoe heen ergens iemand iets alles "
    "inmiddels tegenwoordig nou toch dus mee daar hier er").split()
DUTCH_MARKERS = frozenset(
    "de het een van en in is dat op te voor met zijn niet aan er ook als bij door om werd wordt naar heeft "
    "hebben was waren deze die dit wat hoe maar of tot over uit worden kan zou hun onder tussen na nog wel "
    "geen".split())
ENGLISH_MARKERS = frozenset(
    "the and of to is was in that for with are were this which how why but or by from has have be on as at "
    "it an not no".split())


def fold(text: str) -> str:
    """Lower-case and strip accents: 'Geïntegreerde' -> 'geintegreerde'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def squash(text: str) -> str:
    """Folded, only letters and digits: how names are looked up ('C-130' -> 'c130')."""
    return _NON_ALNUM.sub("", fold(text))


def raw_terms(text: str) -> list[str]:
    """Unstemmed terms, with hyphenated codes split and joined; stop words dropped."""
    out: list[str] = []
    for tok in _TOKEN.findall(fold(text)):
        parts = re.split(r"[-/']", tok)
        if len(parts) > 1:
            out.extend(p for p in parts if p not in STOPWORDS)
            out.append("".join(parts))
        elif tok not in STOPWORDS:
            out.append(tok)
    return out


def is_dutch(text: str) -> bool | None:
    """True/False by Dutch vs English function words; None when the text has too few of either."""
    words = _WORD.findall(text.lower())
    nl, en = sum(w in DUTCH_MARKERS for w in words), sum(w in ENGLISH_MARKERS for w in words)
    if nl + en < 2:
        return None
    return nl > en
