"""What intake's routes share: the dependencies through which a route gets what it needs,
`Service` (the `Intake` main.py built) and `Caller` (whoever the bearer token speaks for),
and the answer of a use case's outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake import usecases
from services.intake.usecases import Intake, Outcome
from shared import auth
from shared.errors import refuse_all


def intake(request: Request) -> Intake:
    """The service main.py built for this app."""
    ix: Intake = request.app.state.intake
    return ix


Service = Annotated[Intake, Depends(intake)]

bearer = HTTPBearer(
    auto_error=False, description="Agency token (tga_...), task-force member token (tgm_...) "
    "or operator token (tgo_...), from `thaogo token create`"
)


async def caller(
    ix: Service,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> auth.Principal:
    return await usecases.authenticate(ix, credentials.credentials if credentials else None)


Caller = Annotated[auth.Principal, Depends(caller)]


def answer(outcome: Outcome, lang: str) -> JSONResponse:
    if outcome.answer is not None:
        return JSONResponse(outcome.answer, status_code=outcome.status)
    return refuse_all(outcome.problems, lang, outcome.status)
