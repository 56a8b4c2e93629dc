"""A small indexer that lies: a real FastAPI/uvicorn process on 127.0.0.1 that serves,
for each path, whatever answer the test wrote to its answers file (altered records,
records that match nothing, another identity). It appends every query it is asked to
`ANSWERS.log`, so a test can see what the client sent.

    python tampering_indexer.py ANSWERS.json PORT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def make_app(answers: Path) -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    def answer(path: str, request: Request) -> Any:
        with open(answers.with_suffix(".log"), "a") as log:
            log.write(f"/{path}?{request.url.query}\n")
        canned = json.loads(answers.read_text()).get(f"/{path}")
        if canned is None:
            return JSONResponse({"error": {"code": "not_found", "detail": "No."}}, 404)
        return JSONResponse(canned["body"], canned.get("status", 200))

    return app


if __name__ == "__main__":
    uvicorn.run(
        make_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning"
    )
