"""POST /v1/feedback: a 👍 or 👎 on an answer, stored with its question, history, answer and sources.

The chat page sends what it showed (the `done` event of /v1/ask/stream); the row lands in the
FeedbackStore (service.feedback) that `vraagbaak feedback export` turns into eval items. Storing
never waits for the models or the generation gate. Deliberately not here: Slack's buttons (they
write to the same store from service.slack.bot).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from service.api.errors import error_responses
from service.api.schemas import MAX_HISTORY_TURNS, MAX_K, Question, TurnIn
from service.feedback import Feedback, FeedbackStore

MAX_ANSWER_CHARS = 20_000

router = APIRouter(tags=["feedback"])


class CitationIn(BaseModel):
    """A citation as /v1/ask returned it; fields beyond these are kept as sent."""

    model_config = ConfigDict(extra="allow", strict=True)
    n: int
    doc_id: str = ""
    title: str = ""
    page: int | None = None
    section: str = ""
    quote: str = Field("", max_length=MAX_ANSWER_CHARS)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rating: Literal["up", "down"] = Field(description="👍 (up) of 👎 (down).")
    question: Question
    answer: str = Field(max_length=MAX_ANSWER_CHARS, description="Het getoonde antwoord.")
    citations: list[CitationIn] = Field(default_factory=list, max_length=MAX_K)
    mode: str | None = Field(None, max_length=32, description="De modus van het antwoord (generate, extractive).")
    refused: bool = False
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    comment: str | None = Field(None, max_length=2000, description="Optionele toelichting.")


class FeedbackResponse(BaseModel):
    id: int
    status: Literal["stored"] = "stored"


async def get_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


StoreDep = Annotated[FeedbackStore, Depends(get_store)]


@router.post("/v1/feedback", status_code=201, response_model=FeedbackResponse,
             responses=error_responses(400, 401, 413, 422))
def feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackResponse:
    """Store a rating of an answer (the question, history, answer, citations and mode come along)."""
    row = Feedback(body.rating, body.question, body.answer, [c.model_dump() for c in body.citations], body.mode,
                   body.refused, [t.model_dump() for t in body.history], source="web", comment=body.comment)
    return FeedbackResponse(id=store.add(row))
