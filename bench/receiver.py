"""A local webhook receiver for the notify benchmark: answers 200 to every POST and
counts them by path (GET /count/<path> reads a count).

    python -m bench.receiver --port 8102
"""

from __future__ import annotations

import argparse
from collections import Counter

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build() -> Starlette:
    received: Counter[str] = Counter()

    async def post(request: Request) -> Response:
        await request.body()
        received[request.path_params["path"]] += 1
        return JSONResponse({"ok": True})

    async def count(request: Request) -> Response:
        return JSONResponse({"count": received[request.path_params["path"]]})

    return Starlette(routes=[Route("/hook/{path}", post, methods=["POST"]),
                             Route("/count/{path}", count, methods=["GET"])])


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.receiver")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    uvicorn.run(build(), host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
