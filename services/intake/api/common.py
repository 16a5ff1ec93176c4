"""What intake's routes share: the dependency through which a route gets the `Intake`
main.py built (`Service`; who is asking comes from `shared.identity.SignedIn`, as in
every service), and the answer of a use case's outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from services.intake.usecases import Intake, Outcome
from shared.errors import refuse_all


def intake(request: Request) -> Intake:
    """The service main.py built for this app."""
    ix: Intake = request.app.state.intake
    return ix


Service = Annotated[Intake, Depends(intake)]

def answer(outcome: Outcome, lang: str) -> JSONResponse:
    if outcome.answer is not None:
        return JSONResponse(outcome.answer, status_code=outcome.status)
    return refuse_all(outcome.problems, lang, outcome.status)
