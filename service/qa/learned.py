"""Learned sentence ranking and answerability, trained on synthetic questions (train/, never on an eval set).

Two logistic models over a handful of features, their weights in `weights.json` beside this file
(kilobytes; `make train` rebuilds them from train/data/ in a few minutes):

- the *sentence ranker* scores every sentence of the retrieved passages as the answer to the question:
  e5 similarity of question and sentence (the index's late-chunked sentence vectors, and the sentence
  embedded alone), its gap to the best sentence, idf-weighted coverage of the question's terms (own
  and with its neighbours), the passage's rank and which retrievers found it, whether the sentence
  holds what the question asks for (a number, date, place, name), its length and place in the passage,
  the late-interaction token match, and the question's best match with the questions written for the
  sentence (doc2query, questions/README.md: `q2q`, its gap to the best candidate and its rank);
- the *answerability model* turns the best candidates' features, the question's names that the whole
  corpus lacks, the passages' coverage of the question and the best written-question match into one
  calibrated probability that the reports answer the question; below the threshold (chosen on tuning
  data) Vraagbaak refuses.

Pure functions and small classes: no I/O at question time beyond loading the JSON once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.sentences import split_sentences
from index.text import is_dutch
from service.qa.evidence import Coverage, IdfTable, Similarity, has_type, repeats
from service.types import Sentence

WEIGHTS = Path(__file__).with_name("weights.json")

KINDS = ("number", "date", "name", "place", "money", "plan")
SENTENCE_FEATURES = (
    "dense", "dense_gap", "dense_rank", "near_dense", "prev_dense", "next_dense", "dense_rank_in_passage", "lex",
    "lex_near", "lex_gap", "lex_mass", "prev_lex", "next_lex", "ends_stop", "has_digit", "reference",
    "passage_prior", "passage_fused", "passage_dense", "passage_bm25", "type_match", "kind_asked",
    *(f"match_{k}" for k in KINDS), "log_chars", "first", "short", "english", "english_dense", "english_lex",
    "repeats", "own_dense", "own_gap", "own_rank", "own_x_dense", "tok", "tok_gap", "tok_rank", "tok_rev",
    "q2q", "q2q_gap", "q2q_rank", "qlex", "qlex_gap", "qlex_rank", "qlex_near",
)
PASSAGE_FEATURES = ("prior", "dense_in", "bm25_in", "best_p", "second_p", "best_dense", "best_lex", "sentences")
QUESTION_FEATURES = (
    "top_p", "second_p", "top_dense", "top_lex", "max_lex", "top3_cover", "rarest_in_top3", "passage_cover",
    "missing_names", "has_missing", "missing_year", "type_in_top", "type_in_hits", "kind_asked", "english",
    "log_terms", "followup", "top_q2q", "max_q2q",
)
# a follow-up's own answerability model: the question features (without the constant `followup`) and `own_cover`
FOLLOWUP_FEATURES = (*(n for n in QUESTION_FEATURES if n != "followup"), "own_cover")


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence  # score: the ranker's probability (after `rank`)
    features: np.ndarray


def is_english(question: str) -> bool:
    return is_dutch(question) is False


def sentence_features(q: dict[str, float], kind: str | None, hits: list, idf: IdfTable,
                      similarity: Similarity | None, english: bool = False,
                      said: frozenset[str] = frozenset(), own_similarity: Similarity | None = None,
                      token_match: Similarity | None = None, question_match: Similarity | None = None,
                      asked_terms: Callable[[str], frozenset[str] | None] | None = None) -> list[Candidate]:
    """Every sentence of `hits` (at least 25 characters) with its feature vector (SENTENCE_FEATURES).
    `similarity`: the late-chunked sentence vectors' cosine to the query; `own_similarity`: the
    sentences embedded alone (what a sentence says by itself; the late-chunked one stands in without);
    `token_match`: (n, 2) late-interaction match of the question's tokens with each sentence's
    (`SentenceTokens.match`; the own similarity stands in without); `question_match`: the question's best
    cosine to the questions written for each sentence (`SentenceVectors.question_match`; the own
    similarity stands in without); `asked_terms`: a sentence's written questions' stemmed terms (None
    without any), whose idf-weighted share of the question's terms is `qlex` (the sentence's own share
    stands in without)."""
    rows: list[tuple[Sentence, dict[str, float]]] = []
    coverage = Coverage(q, idf)
    top_score = max((h.score for h in hits), default=1.0) or 1.0
    for h_i, hit in enumerate(hits):
        spans = _spans(hit.text)
        terms = [set(idf.terms(hit.text[s:e])) for s, e in spans]
        written = [asked_terms(hit.text[s:e].strip()) for s, e in spans] if asked_terms is not None else None
        for i, (s, e) in enumerate(spans):
            text = hit.text[s:e].strip()
            static = _static(text)
            if static is None:
                continue
            own = coverage(terms[i])
            near = max((coverage(terms[j] | terms[i]) for j in (i - 1, i + 1) if 0 <= j < len(spans)), default=own)
            typed = _typed(text, kind)
            mine = written[i] if written is not None else None
            qlex = coverage(mine) if mine else own
            if mine is not None:
                around = (written[j] for j in (i - 1, i + 1) if 0 <= j < len(spans))
                qlex_near = max((coverage(mine | a) for a in around if a), default=qlex)
            else:
                qlex_near = near
            f = {**static, "lex": own, "lex_near": near, "qlex": qlex, "qlex_near": qlex_near,
                 "prev_lex": coverage(terms[i - 1]) if i else 0.0,
                 "next_lex": coverage(terms[i + 1]) if i + 1 < len(spans) else 0.0,
                 "lex_mass": own * coverage.total / 10, "passage_prior": 1 / (1 + h_i),
                 "passage_fused": hit.score / top_score, "passage_dense": float("dense" in hit.retrievers),
                 "passage_bm25": float("bm25" in hit.retrievers), "type_match": float(typed),
                 "kind_asked": float(kind is not None), "first": float(i == 0), "english": float(english),
                 "repeats": float(repeats(terms[i], said, idf)),
                 **{f"match_{k}": float(typed and kind == k) for k in KINDS}}
            rows.append((Sentence(text, h_i, s, e, 0.0), f))
    if not rows:
        return []
    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    x = np.zeros((len(rows), len(SENTENCE_FEATURES)))
    for r, (_, f) in enumerate(rows):
        for name, v in f.items():
            x[r, col[name]] = v
    sims = similarity([s.text for s, _ in rows]) if similarity is not None else np.zeros(len(rows))
    x[:, col["dense"]] = sims
    x[:, col["dense_gap"]] = sims - sims.max()
    x[np.argsort(-sims, kind="stable"), col["dense_rank"]] = 1 / (1 + np.arange(len(rows)))
    hit_of = np.array([s.hit for s, _ in rows])
    for h in np.unique(hit_of):
        idx = np.flatnonzero(hit_of == h)  # sentences of one passage, in text order
        x[idx[np.argsort(-sims[idx], kind="stable")], col["dense_rank_in_passage"]] = 1 / (1 + np.arange(len(idx)))
        for k, r in enumerate(idx):
            neighbours = [sims[idx[j]] for j in (k - 1, k + 1) if 0 <= j < len(idx)]
            x[r, col["near_dense"]] = max(neighbours, default=sims[r])
            x[r, col["prev_dense"]] = sims[idx[k - 1]] if k else sims.min()
            x[r, col["next_dense"]] = sims[idx[k + 1]] if k + 1 < len(idx) else sims.min()
    own = own_similarity([s.text for s, _ in rows]) if own_similarity is not None else sims
    x[:, col["own_dense"]] = own
    x[:, col["own_gap"]] = own - own.max()
    x[np.argsort(-own, kind="stable"), col["own_rank"]] = 1 / (1 + np.arange(len(rows)))
    x[:, col["own_x_dense"]] = own * sims
    tok = token_match([s.text for s, _ in rows]) if token_match is not None else np.stack([own, own], axis=1)
    x[:, col["tok"]] = tok[:, 0]
    x[:, col["tok_gap"]] = tok[:, 0] - tok[:, 0].max()
    x[np.argsort(-tok[:, 0], kind="stable"), col["tok_rank"]] = 1 / (1 + np.arange(len(rows)))
    x[:, col["tok_rev"]] = tok[:, 1]
    asked = question_match([s.text for s, _ in rows]) if question_match is not None else own
    x[:, col["q2q"]] = asked
    x[:, col["q2q_gap"]] = asked - asked.max()
    x[np.argsort(-asked, kind="stable"), col["q2q_rank"]] = 1 / (1 + np.arange(len(rows)))
    x[:, col["lex_gap"]] = x[:, col["lex"]] - x[:, col["lex"]].max()
    x[:, col["qlex_gap"]] = x[:, col["qlex"]] - x[:, col["qlex"]].max()
    x[np.argsort(-x[:, col["qlex"]], kind="stable"), col["qlex_rank"]] = 1 / (1 + np.arange(len(rows)))
    x[:, col["english_dense"]] = x[:, col["dense"]] * x[:, col["english"]]
    x[:, col["english_lex"]] = x[:, col["lex"]] * x[:, col["english"]]
    return [Candidate(s, x[i]) for i, (s, _) in enumerate(rows)]


@lru_cache(maxsize=4096)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    """A passage's sentence spans (passages recur from question to question: cached)."""
    return tuple(split_sentences(text))


@lru_cache(maxsize=32768)
def _static(text: str) -> dict[str, float] | None:
    """The features of a sentence that do not depend on the question; None for no candidate (shorter
    than 25 characters, or a footnote's source line)."""
    if len(text) < 25 or is_footnote_reference(text):
        return None
    return {"ends_stop": float(text.endswith((".", "!", "?", ".)", ".’", '."'))),
            "has_digit": float(any(ch.isdigit() for ch in text)), "reference": float(bool(_REFERENCE.search(text))),
            "log_chars": math.log(len(text)), "short": float(len(text) < 60)}


@lru_cache(maxsize=32768)
def _typed(text: str, kind: str | None) -> bool:
    return has_type(text, kind)


class Logistic:
    """sigmoid(w . (x - mean) / scale + b), from the JSON the training script writes."""

    def __init__(self, spec: dict):
        self.names = tuple(spec["features"])
        self.w = np.asarray(spec["coef"], dtype=np.float64)
        self.b = float(spec["intercept"])
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        self.threshold = float(spec.get("threshold", 0.5))

    @classmethod
    def untrained(cls, names: tuple[str, ...]) -> Logistic:
        """Zero weights (every input 0.5): features can be computed before any model is trained."""
        n = len(names)
        return cls({"features": names, "coef": [0.0] * n, "intercept": 0.0, "mean": [0.0] * n, "scale": [1.0] * n})

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.w + self.b
        return 1 / (1 + np.exp(-z))


@dataclass(frozen=True)
class Models:
    ranker: Logistic
    answerable: Logistic
    passages: Logistic
    followup: Logistic | None = None  # answerability of follow-ups (FOLLOWUP_FEATURES), when trained

    @classmethod
    def untrained(cls) -> Models:
        return cls(Logistic.untrained(SENTENCE_FEATURES), Logistic.untrained(QUESTION_FEATURES),
                   Logistic.untrained(PASSAGE_FEATURES))


@lru_cache(maxsize=4)
def load_models(path: str = str(WEIGHTS)) -> Models:
    spec = json.loads(Path(path).read_text("utf-8"))
    followup = Logistic(spec["answerable_followup"]) if "answerable_followup" in spec else None
    models = Models(Logistic(spec["ranker"]), Logistic(spec["answerable"]), Logistic(spec["passages"]), followup)
    if (models.ranker.names, models.answerable.names, models.passages.names) != (
            SENTENCE_FEATURES, QUESTION_FEATURES, PASSAGE_FEATURES) or (
            followup is not None and followup.names != FOLLOWUP_FEATURES):
        raise ValueError(f"{path}: features differ from the code; run `make train`")
    return models


def rank(candidates: list[Candidate], ranker: Logistic) -> list[Candidate]:
    """Candidates best first, each sentence's score set to the ranker's probability."""
    if not candidates:
        return []
    p = ranker(np.stack([c.features for c in candidates]))
    out = [Candidate(Sentence(c.sentence.text, c.sentence.hit, c.sentence.start, c.sentence.end, float(v)),
                     c.features) for c, v in zip(candidates, p)]
    out.sort(key=lambda c: -c.sentence.score)
    return out


def passage_features(n_hits: int, hits: list, ranked: list[Candidate]) -> np.ndarray:
    """PASSAGE_FEATURES per hit: its fused rank, which retrievers found it, and its sentences' best
    ranker probabilities, e5 similarity and lexical coverage."""
    dense_i, lex_i = SENTENCE_FEATURES.index("dense"), SENTENCE_FEATURES.index("lex")
    by_hit: dict[int, list[Candidate]] = {}
    for c in ranked:  # best first
        by_hit.setdefault(c.sentence.hit, []).append(c)
    rows = []
    for i in range(n_hits):
        cs = by_hit.get(i, [])
        rows.append([1 / (1 + i), float("dense" in hits[i].retrievers), float("bm25" in hits[i].retrievers),
                     cs[0].sentence.score if cs else 0.0, cs[1].sentence.score if len(cs) > 1 else 0.0,
                     max((c.features[dense_i] for c in cs), default=0.0),
                     max((c.features[lex_i] for c in cs), default=0.0), math.log(1 + len(cs))])
    return np.array(rows, dtype=np.float64).reshape(n_hits, len(PASSAGE_FEATURES))


@dataclass(frozen=True)
class QuestionInputs:
    """What answerability needs beyond the ranked sentences (none of it depends on the ranker)."""

    kind: str | None
    terms: tuple[str, ...]  # the question's own stemmed terms
    missing_names: int
    passage_cover: float
    english: bool
    followup: bool
    missing_year: bool
    type_in_hits: bool
    own_terms: tuple[str, ...] = ()  # a follow-up's terms that the conversation lacks: what it newly asks


def question_features(ranked: list[Candidate], q: QuestionInputs, idf: IdfTable) -> np.ndarray:
    """QUESTION_FEATURES of a question whose candidates are `ranked` (best first). `top3_cover` and
    `rarest_in_top3`: how much of the question, and whether its rarest term, the best three sentences
    hold ("Wie was de commandant …?" finds the detachment, not a commander)."""
    top = ranked[0] if ranked else None
    get = SENTENCE_FEATURES.index
    top3 = ranked[:3]
    top_terms = {t for c in top3 for t in idf.terms(c.sentence.text)}
    rarest = max(q.terms, key=idf, default=None)
    rarest_in = rarest is not None and (rarest in top_terms or not idf.compounds_of(rarest).isdisjoint(top_terms))
    return np.array([
        top.sentence.score if top else 0.0,
        ranked[1].sentence.score if len(ranked) > 1 else 0.0,
        top.features[get("dense")] if top else 0.0,
        top.features[get("lex")] if top else 0.0,
        max((c.features[get("lex")] for c in ranked), default=0.0),
        Coverage(dict.fromkeys(q.terms, 1.0), idf)(top_terms),
        float(rarest_in),
        q.passage_cover,
        float(q.missing_names),
        float(q.missing_names > 0),
        float(q.missing_year),
        float(any(c.features[get("type_match")] for c in top3)) if q.kind else 1.0,
        float(q.type_in_hits),
        float(q.kind is not None),
        float(q.english),
        math.log(1 + len(q.terms)),
        float(q.followup),
        top.features[get("q2q")] if top else 0.0,
        max((c.features[get("q2q")] for c in ranked), default=0.0),
    ], dtype=np.float64)


def followup_features(ranked: list[Candidate], q: QuestionInputs, idf: IdfTable, qf: np.ndarray) -> np.ndarray:
    """FOLLOWUP_FEATURES of a follow-up: its QUESTION_FEATURES `qf` without `followup`, and `own_cover`, the
    share of what it newly asks (its terms the conversation lacks: "vlieguren" in "Hoeveel vlieguren heeft dat
    toestel gemaakt?" after a question about the C-130) that the best three sentences hold; the conversation's
    words find its subject's passages whether or not they answer it. 1 when it asks nothing new in words."""
    top_terms = {t for c in ranked[:3] for t in idf.terms(c.sentence.text)}
    own = Coverage(dict.fromkeys(q.own_terms, 1.0), idf)(top_terms) if q.own_terms else 1.0
    return np.append(np.delete(qf, QUESTION_FEATURES.index("followup")), own)


# a bibliographic reference or source line: "in: International Peacekeeping 23 (2016) (5) 702-720", "Kamerstuk 29 521"
_REFERENCE = re.compile(r"\b[Ii]n: |\(\d{4}\)|\bpp?\. ?\d|\b\d{2,4}-\d{2,4}\b|\bKamerstuk(?:ken)? \d|\bnr\. \d|https?://|www\.")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


_FOOTNOTE_START = re.compile(r"^\d{1,3}\s+\S")


def is_footnote_reference(text: str) -> bool:
    """A footnote's source line ("40 Niels van Willigen, 'A Dutch return …', in: International Peacekeeping
    23 (2016) 702-720"): a citation of a publication, never an answer. English titles in them drew English
    questions by their similarity alone."""
    return bool(_FOOTNOTE_START.match(text) and _REFERENCE.search(text))


@dataclass(frozen=True)
class Analysis:
    """What the learned steps know about one question: its passages (reranked, best first), its
    candidate sentences (ranked, best first; `.sentence.hit` indexes `hits`) and its answerability."""

    hits: list
    kind: str | None
    ranked: list[Candidate]
    features: np.ndarray  # QUESTION_FEATURES
    p_answerable: float
    passage_features: np.ndarray  # PASSAGE_FEATURES per hit, in `hits` order
    missing: tuple[str, ...] = ()  # names and codes of the question that the reports do not hold
    inputs: QuestionInputs | None = None
    p_followup: float | None = None  # a follow-up's P(answerable) by its own model (None: no follow-up or model)


def analyse(question: str, query: str, conversation: str, hits: list, idf: IdfTable, similarity: Similarity | None,
            models: Models, corpus: str = "", heads: frozenset[str] = frozenset(),
            said: frozenset[str] = frozenset(), own_similarity: Similarity | None = None,
            token_match: Similarity | None = None, question_match: Similarity | None = None,
            asked_terms: Callable[[str], frozenset[str] | None] | None = None) -> Analysis:
    """Rank the sentences of `hits` for `question` and estimate whether they answer it. `query` is the
    standalone search query (a follow-up with its context), `conversation` the recent turns' text."""
    from service.qa.evidence import expected_type, question_weights
    from service.qa.refusal import missing_entities, passage_coverage

    kind = expected_type(question)
    english = is_english(question)
    weights = question_weights(question, idf, conversation)
    ranked = rank(sentence_features(weights, kind, hits, idf, similarity, english, said, own_similarity,
                                    token_match, question_match, asked_terms), models.ranker)
    missing = tuple(missing_entities(question, hits, heads, idf, corpus))
    cover = passage_coverage(question, hits, idf, conversation) if hits else 0.0
    years = _YEAR.findall(question)
    terms = tuple(dict.fromkeys(idf.terms(question)))
    said_before = set(idf.terms(conversation)) if conversation else set()
    inputs = QuestionInputs(kind, terms, len(missing), cover, english,
                            bool(conversation), bool(corpus) and any(y not in corpus for y in years),
                            not kind or any(has_type(h.text, kind) for h in hits),
                            tuple(t for t in terms if t not in said_before))
    qf = question_features(ranked, inputs, idf)
    p_followup = None
    if conversation and models.followup is not None:
        p_followup = float(models.followup(followup_features(ranked, inputs, idf, qf))[0])
    pf = passage_features(len(hits), hits, ranked)
    hits, ranked, pf = rerank_passages(hits, ranked, pf, models.passages)
    return Analysis(hits, kind, ranked, qf, float(models.answerable(qf)[0]), pf, missing, inputs, p_followup)


def rerank_passages(hits: list, ranked: list[Candidate], pf: np.ndarray, model: Logistic,
                    ) -> tuple[list, list[Candidate], np.ndarray]:
    """Hits ordered by the passage model (stable: ties keep the fused order), the candidates' hit
    indexes and passage-prior features left as computed (they describe the fused rank)."""
    if not hits:
        return hits, ranked, pf
    order = np.argsort(-model(pf), kind="stable")
    new = {int(old): i for i, old in enumerate(order)}
    moved = [Candidate(Sentence(c.sentence.text, new[c.sentence.hit], c.sentence.start, c.sentence.end,
                                c.sentence.score), c.features) for c in ranked]
    return [hits[i] for i in order], moved, pf[order]
