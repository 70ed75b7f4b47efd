"""The HTTP side of ``titlegen serve``: a FastAPI app over a :class:`~.batcher.Batcher`.

- ``GET /``: the page (``page.html``, one file, nothing from other hosts);
- ``GET /api/health``, ``GET /api/subreddits``, ``POST /api/titles``; OpenAPI at ``/docs``.

Bad requests get a 4xx and ``{"error": "one sentence"}``, never a 5xx: the body is read
(within ``BODY_LIMIT``, else 413), parsed and checked here, before anything is queued. Nothing a
request says picks a file, a run or a model: the run is the one the server was started with.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run
# time, and one of them names a local (the bearer scheme).
import asyncio
import hmac
import json
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from titlegen import __version__, dataset, sampling
from titlegen.errors import TitlegenError
from titlegen.sampling import novelty
from titlegen.serving import MAX_TITLES
from titlegen.serving.batcher import Batcher, Busy

BODY_LIMIT = 16_384  # bytes of a request body; a prefix is at most PREFIX_LIMIT characters
PREFIX_LIMIT = 2_000
SEED_LIMIT = 2**63  # seeds are 0 to 2**63 - 1: JSON integers that every client keeps exact

# The page's own script and style are inline; it talks to this server only.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class TitlesRequest(BaseModel):
    """What ``POST /api/titles`` takes; every field is optional, with ``generate``'s defaults."""

    model_config = ConfigDict(extra="forbid", strict=True)

    n: int = Field(sampling.NSAMPLES, ge=1, description="How many titles.")
    subreddit: str | None = Field(
        None, description="Titles in this subreddit's style (a conditioned run; r/ optional)."
    )
    prefix: str = Field("", max_length=PREFIX_LIMIT, description="Text every title starts with.")
    keywords: str | None = Field(
        None,
        max_length=dataset.MAX_KEYWORDS_TEXT,
        description='Titles about these words: one string, "cat, vacuum" (a run trained with '
        "keywords; at most as many words as it was trained with, 3).",
    )
    temperature: float = Field(
        sampling.TEMPERATURE,
        ge=sampling.MIN_TEMPERATURE,
        allow_inf_nan=False,
        description="Higher is wilder.",
    )
    top_k: int = Field(0, ge=0, description="Sample from the k likeliest tokens; 0 = off.")
    top_p: float = Field(0.0, ge=0, le=1, description="Nucleus sampling; 0 = off; wins.")
    max_tokens: int = Field(
        sampling.LENGTH, ge=1, le=sampling.MAX_LENGTH, description="Most tokens per title."
    )
    seed: int | None = Field(
        None, ge=0, lt=SEED_LIMIT, description="The same seed and settings give the same titles."
    )
    novel: bool = Field(False, description="Drop titles that are in the run's training data.")
    unique: bool = Field(False, description="Drop repeats within this answer.")


class Title(BaseModel):
    title: str
    subreddit: str | None
    synthetic: Literal[True] = True


class TitlesResponse(BaseModel):
    titles: list[Title]
    run: str
    seed: int = Field(description="Send it back to get the same titles again.")
    dropped: int = Field(description="Rows dropped: the model began another document.")
    copies: int = Field(description="Titles dropped by novel: in the run's training data.")
    repeats: int = Field(description="Titles dropped by unique: already in this answer.")
    generator: str


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Service:
    """The run being served and what turns a request into a :class:`titlegen.sampling.Job`."""

    generator: sampling.Generator
    batcher: Batcher
    max_titles: int = MAX_TITLES
    _known: set[str] | None = None  # the run's training titles, read on the first novel=true

    @property
    def folder(self) -> Path:
        return self.generator.folder

    def job(self, ask: TitlesRequest) -> sampling.Job:
        if ask.n > self.max_titles:
            raise ApiError(422, f"n can be at most {self.max_titles} on this server, not {ask.n}.")
        names = [self._subreddit(ask.subreddit)] if ask.subreddit is not None else []
        keywords = self._keywords(ask.keywords)
        options = sampling.SampleOptions(
            nsamples=ask.n,
            length=ask.max_tokens,
            temperature=ask.temperature,
            top_k=ask.top_k,
            top_p=ask.top_p,
            prefix=ask.prefix,
            seed=secrets.randbelow(2**31) if ask.seed is None else ask.seed,
            keywords=ask.keywords or "",
        )
        room = sampling.MAX_LENGTH - max(
            len(self.generator._context(ask.prefix, name, keywords)) for name in names or [None]
        )
        if room < 1:
            raise ApiError(422, "prefix is too long: it leaves no room to generate.")
        if ask.max_tokens > room:
            raise ApiError(
                422,
                f"max_tokens can be at most {room} with this prefix (the model sees "
                f"{sampling.MAX_LENGTH + 1} tokens), not {ask.max_tokens}.",
            )
        keep = novelty.Filter(self._known_titles() if ask.novel else None, unique=ask.unique)
        return self.generator.job(options, names, keep)

    def _subreddit(self, name: str) -> str:
        if not self.generator.format.condition:
            raise ApiError(422, "This run was trained without subreddits: leave subreddit out.")
        try:
            return sampling.resolve_subreddits(self.folder, [name], lister="GET /api/subreddits")[0]
        except TitlegenError as error:
            raise ApiError(422, str(error)) from error

    def _keywords(self, text: str | None) -> list[str]:
        if not text:
            return []
        if self.generator.format.keywords is None:
            raise ApiError(422, "This run was trained without keywords: leave keywords out.")
        try:
            return sampling.resolve_keywords(
                self.folder, text, form=self.generator.format, name="keywords"
            )
        except TitlegenError as error:
            raise ApiError(422, str(error)) from error

    def _known_titles(self) -> set[str]:
        if self._known is None:
            try:
                self._known = novelty.known_titles(self.folder)
            except TitlegenError as error:
                raise ApiError(422, str(error).replace("--novel", "novel")) from error
        return self._known


def create_app(service: Service, *, api_key: str | None = None) -> FastAPI:
    """The app: the page, the API and its docs, for ``service``'s run."""
    app = FastAPIOffline(  # FastAPI, with /docs served from here, not from a CDN
        title="titlegen",
        version=__version__,
        description=f"Synthetic Reddit-style titles from the run {service.folder.name}, "
        "written by a GPT-2 model.",
    )
    bearer = HTTPBearer(auto_error=False, description="--api-key, when the server has one")

    def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if api_key is None:
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise ApiError(401, "This server needs its API key: send Authorization: Bearer KEY.")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"error": str(error)}, error.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        message = {404: f"There is nothing at {request.url.path}.", 405: "Method not allowed."}
        text = message.get(error.status_code, str(error.detail))
        return JSONResponse({"error": text}, error.status_code, headers=error.headers)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        html = resources.files("titlegen.serving").joinpath("page.html").read_text("utf-8")
        return HTMLResponse(html, headers=_PAGE_HEADERS)

    api = Depends(authorized)

    @app.get("/api/health", dependencies=[api], tags=["api"])
    def health() -> dict[str, Any]:
        """Whether the server is up, and what it serves."""
        return {
            "status": "ok",
            "run": service.folder.name,
            "checkpoint": service.generator.checkpoint,
            "conditioned": service.generator.format.condition,
            "keywords": service.generator.format.keywords is not None,
            "max_titles": service.max_titles,
            "max_batch": service.batcher.max_batch,
            "waiting": service.batcher.waiting,
            "sampled": {"batches": service.batcher.batches, "rows": service.batcher.rows},
            "defaults": TitlesRequest().model_dump(),
            "generator": f"titlegen {__version__}",
        }

    @app.get("/api/subreddits", dependencies=[api], tags=["api"])
    def subreddits() -> dict[str, list[dict[str, Any]]]:
        """The run's subreddits with their training titles, most first (empty: unconditioned)."""
        form = service.generator.format
        counts = form.subreddits if form.condition else {}
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
        return {"subreddits": [{"name": name, "titles": count} for name, count in ranked]}

    @app.post(
        "/api/titles",
        dependencies=[api],
        tags=["api"],
        response_model=TitlesResponse,
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": TitlesRequest.model_json_schema()}},
            }
        },
        responses={
            401: {"description": "No or wrong API key"},
            413: {"description": "Body too large"},
            422: {"description": "A field is wrong (the error says which)"},
            503: {"description": "Busy: too many requests waiting"},
        },
    )
    async def titles(request: Request) -> TitlesResponse:
        """Synthetic titles; the same seed and settings give the same titles."""
        ask = _parse(await _body(request))
        job = await asyncio.to_thread(service.job, ask)  # novel=true may read the titles first
        try:
            future = service.batcher.submit(job)
        except Busy as error:
            raise ApiError(503, str(error)) from error
        samples = await _unless_gone(request, asyncio.wrap_future(future))
        return TitlesResponse(
            titles=[Title(title=s.title, subreddit=s.subreddit) for s in samples],
            run=service.folder.name,
            seed=job.seed,
            dropped=job.restarts,
            copies=job.keep.copies,
            repeats=job.keep.repeats,
            generator=f"titlegen {__version__}",
        )

    return app


async def _body(request: Request) -> bytes:
    """The body, at most ``BODY_LIMIT`` bytes (413 past it, before reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise ApiError(413, f"The body is larger than {BODY_LIMIT} bytes.")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > BODY_LIMIT:
                raise ApiError(413, f"The body is larger than {BODY_LIMIT} bytes.")
    except ClientDisconnect as error:
        raise ApiError(499, "The client went away.") from error
    return bytes(body)


def _parse(body: bytes) -> TitlesRequest:
    if not body.strip():
        return TitlesRequest()
    try:
        data = json.loads(body)
    except ValueError as error:
        where = f" ({error.msg} at character {error.pos})" if hasattr(error, "msg") else ""
        raise ApiError(400, f"The body is not valid JSON{where}.") from error
    except RecursionError as error:
        raise ApiError(400, "The body is nested too deeply.") from error
    if not isinstance(data, dict):
        raise ApiError(400, 'The body must be a JSON object, such as {"n": 5}.')
    for text in [*data, *data.values()]:
        if isinstance(text, str) and not _encodable(text):
            raise ApiError(400, "The body holds a lone surrogate (\\ud800 to \\udfff): not text.")
    try:
        return TitlesRequest.model_validate(data)
    except ValidationError as error:
        raise ApiError(422, _sentence(error.errors()[0])) from error


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sentence(error: dict[str, Any]) -> str:
    """A pydantic error as one sentence: which field, what is wrong, what was sent."""
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        fields = ", ".join(TitlesRequest.model_fields)
        return f"Unknown field {field!r}: the fields are {fields}."
    message = error["msg"]
    message = message[0].lower() + message[1:]
    sent = json.dumps(error.get("input"), ensure_ascii=False)
    if not _encodable(sent):
        sent = json.dumps(error.get("input"))
    if len(sent) > 40:
        sent = sent[:37] + "..."
    return f"{field}: {message}, not {sent}."


async def _unless_gone(request: Request, sampled: asyncio.Future) -> Any:
    """What ``sampled`` gives, unless the client disconnects first: then its job is cancelled
    (dropped before its next batch) and nothing is answered."""
    gone = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({sampled, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not sampled.done():
            sampled.cancel()
        gone.cancel()
    if not sampled.done() or sampled.cancelled():
        raise ApiError(499, "The client went away.")  # nobody reads it: nginx's code for it
    error = sampled.exception()
    if isinstance(error, TitlegenError):
        raise ApiError(422, str(error)) from error
    return sampled.result()


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
