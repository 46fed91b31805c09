"""Errors as problem+json (RFC 9457), mapped once from `dapp.errors` and FastAPI's own errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from dapp.errors import DappError, DatabaseUnavailable
from dapp.gateway.peers import is_operator
from dapp.store.db import describe_failure

log = logging.getLogger("dapp.gateway")
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://datadao.exchange/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details; extra members (hint, errors, ...) may follow."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    hint: str | None = None


_PROBLEM_STATUSES = {
    400: "Bad request",
    401: "Not signed in, or the signature/session is invalid",
    403: "Signed in, but not allowed (e.g. no valid license)",
    404: "Not found",
    413: "Request body too large",
    422: "Request does not match the schema",
    429: "Rate limited (see Retry-After)",
    503: "A part the gateway depends on is unavailable (chain, IPFS, database, deployment)",
}


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting every problem+json answer, for all routes."""
    schema = Problem.model_json_schema()
    return {
        status: {"description": description,
                 "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
        for status, description in _PROBLEM_STATUSES.items()
    }


def problem(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


#: what a caller who is not an operator reads instead of a 5xx's own text, which may name an
#: internal address (an RPC URL with its API key, the IPFS API, a file path); an error class
#: whose text is written for clients says so with `public_detail = True`
_GENERIC_DETAIL = {
    500: "the gateway failed to answer this request",
    503: "a service the gateway depends on is unavailable; try again later",
}


def _public(error: DappError, operator: bool) -> tuple[str, str | None, dict[str, Any]]:
    """(detail, hint, extra members) as this caller may see them."""
    if operator or error.http_status not in _GENERIC_DETAIL or getattr(
            error, "public_detail", False):
        return error.message, error.hint, dict(error.details)
    return _GENERIC_DETAIL[error.http_status], "try again in a moment", {}


async def _dapp_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DappError)
    if error.http_status >= 500:
        # the kind of failure behind an outage answer; only its class (its text may carry an
        # RPC URL with a key in it)
        cause = error.__cause__ if error.__cause__ is not None else error
        log.warning("%s %s: %s (%s)", request.method, request.url.path, error.code,
                    type(cause).__name__)
    detail, hint, extra = _public(error, is_operator(request))
    if hint:
        extra["hint"] = hint
    title = error.code.replace("-", " ").capitalize()
    response = problem(error.http_status, error.code, title, detail, request.url.path, **extra)
    response.headers.update(error.headers)
    return response


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", ""))}
        for item in error.errors()
    ]
    return problem(422, "invalid-request", "Invalid request",
                   "the request does not match the API's schema", request.url.path,
                   errors=errors)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
        error.status_code, "http-error"
    )
    response = problem(error.status_code, code, str(error.detail), str(error.detail),
                       request.url.path)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """Locked past the busy timeout, disk full, connection lost: the database is unavailable
    (503, try again), not a bug of the gateway (500). The server's file path stays private."""
    assert isinstance(error, OperationalError)
    unavailable = DatabaseUnavailable(f"the database is unavailable: {describe_failure(error)}",
                                      hint="try again in a moment")
    response = await _dapp_error(request, unavailable)
    response.headers["Retry-After"] = "2"
    return response


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DappError, _dapp_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
