"""The baseline for intake: the same server stack (FastAPI on uvicorn, same settings as
`thaogo run`) with one endpoint that only validates the same body and answers 202.

    python -m bench.bare_intake --port 8101
"""

from __future__ import annotations

import argparse
import uuid

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.intake.models import Accepted, DifficultyIn


def build() -> FastAPI:
    app = FastAPI(title="bench: bare intake")

    @app.post("/v1/difficulties", status_code=202, response_model=Accepted)
    async def submit(body: DifficultyIn) -> JSONResponse:
        answer = Accepted(difficulty_id=uuid.uuid4(), tracking_code="TG-BARE01")
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    return app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.bare_intake")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    # The same uvicorn configuration as thaogo.cli.cmd_run.
    config = uvicorn.Config(build(), host="127.0.0.1", port=args.port, log_config=None,
                            lifespan="on", timeout_graceful_shutdown=25, access_log=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
