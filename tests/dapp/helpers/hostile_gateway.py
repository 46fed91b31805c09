"""A gateway that turns on its clients, for the client-side tests of issue 15: a small FastAPI
app on a free port (uvicorn in a thread) in front of an honest gateway. It can

- relay the honest gateway's sign-in challenge and trade whatever signature it gets there for
  a session as the signer (`relay_sign_in`; `stolen` keeps the sessions it obtained),
- lie about its terms in `GET /v1/provider` (`terms_lies`: price, market, provider, token),
  answer calls with 402s that lie too (`invoke_answer`), or pass calls on to the honest
  gateway with an inflated `X-DataDAO-Accepted-Cumulative` (`accepted_lie`),
- sign anyone in with its own challenge and serve forged bytes as any download or job result.

It records what it was handed: sign-in messages, and every voucher header (`vouchers`), so a
test can show that nothing was signed beyond what the user allowed. Every other GET is passed
on to the honest gateway as is, with CORS open to any page, so the dApp (served by the honest
gateway, pointed here with `?gateway=`) renders as usual and meets only the lies above.

Standalone, for the dApp's e2e (prints one JSON line `{"url": ...}` when it listens, serves until
stdin closes):

    python -m tests.dapp.helpers.hostile_gateway HONEST_URL [--no-relay]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from dapp.market.vouchers import ACCEPTED_HEADER, VOUCHER_HEADER, Voucher, parse_voucher_header
from dapp.ports import free_port

FORGED = b"forged bytes from a hostile gateway\n"
InvokeAnswer = Literal["forward", "missing", "stale"]
PASSED_HEADERS = ("content-type", "etag", "content-disposition", "cache-control")
SIGNER = re.compile(r"^(0x[0-9a-fA-F]{40})$", re.MULTILINE)


@dataclass
class HostileGateway:
    honest_url: str
    chain_id: int = 1337
    relay_sign_in: bool = True
    terms_lies: dict[str, Any] = field(default_factory=dict)
    invoke_answer: InvokeAnswer = "missing"
    accepted_lie: int | None = None
    #: what it was handed
    sign_ins: list[dict[str, Any]] = field(default_factory=list)
    stolen: list[str] = field(default_factory=list)  # honest session tokens it obtained
    vouchers: list[Voucher] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    signed_in: str | None = None
    #: forge a download as long as the catalog says the asset is (only its hash can tell)
    forge_same_size: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self, **behaviour: Any) -> HostileGateway:
        """Forget what was handed over and behave as `behaviour` says from now on."""
        self.sign_ins.clear()
        self.stolen.clear()
        self.vouchers.clear()
        self.relay_sign_in, self.terms_lies = True, {}
        self.invoke_answer, self.accepted_lie = "missing", None
        self.signed_in, self.forge_same_size = None, False
        for name, value in behaviour.items():
            setattr(self, name, value)
        return self

    def terms(self) -> dict[str, Any]:
        honest = httpx.get(f"{self.honest_url}/v1/provider", timeout=10).json()
        return {**honest, **{k: str(v) if k == "price" else v
                             for k, v in self.terms_lies.items()}}

    # -- the app -------------------------------------------------------------------------------
    def app(self) -> FastAPI:
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["*"])

        @app.get("/v1/auth/nonce")
        def nonce() -> Any:
            if self.relay_sign_in:  # the honest gateway's challenge, word for word
                return httpx.get(f"{self.honest_url}/v1/auth/nonce", timeout=10).json()
            return {"nonce": secrets.token_hex(8), "expires_at": "", "chain_id": self.chain_id,
                    "domain": f"127.0.0.1:{self.port}", "uri": self.url}

        @app.post("/v1/auth/siwe")
        async def siwe(request: Request) -> Any:
            body = await request.json()
            self.sign_ins.append(body)
            if not self.relay_sign_in:  # "signed in" here: whoever the message names
                signer = SIGNER.search(str(body.get("message", "")))
                self.signed_in = signer.group(1) if signer else "0x" + "00" * 20
                return {"token": "hostile", "account": self.signed_in,
                        "expires_at": "2999-01-01T00:00:00.000Z", "token_type": "Bearer"}
            honest = httpx.post(f"{self.honest_url}/v1/auth/siwe", json=body, timeout=10)
            if honest.status_code == 200:
                self.stolen.append(honest.json()["token"])
            return JSONResponse(honest.json(), status_code=honest.status_code)

        @app.get("/v1/provider")
        def provider() -> Any:
            return self.terms()

        @app.post("/v1/models/{asset_id}/invoke")
        async def invoke(asset_id: int, request: Request) -> Response:
            header = request.headers.get(VOUCHER_HEADER)
            if header:
                self.vouchers.append(parse_voucher_header(header))
            if self.invoke_answer == "forward":
                return await self._forward_invoke(asset_id, request)
            terms = self.terms()
            problem = {"type": "about:blank", "title": "Payment Required", "status": 402,
                       "detail": "pay more", "reason": self.invoke_answer, **terms,
                       "accepted_cumulative": str(10**24)}
            return JSONResponse(problem, status_code=402,
                                media_type="application/problem+json")

        @app.get("/v1/assets/{asset_id}/content")
        def forged_content(asset_id: int) -> Response:
            return self._forged(asset_id)

        @app.get("/v1/jobs/{asset_id}/result")
        def forged(asset_id: int) -> Response:
            return Response(FORGED, media_type="application/octet-stream",
                            headers={"ETag": '"forged"'})

        @app.get("/v1/auth/me")
        def me(request: Request) -> Response:
            if request.headers.get("authorization") == "Bearer hostile" and self.signed_in:
                return JSONResponse({"account": self.signed_in})
            return self._pass_on(request)

        @app.get("/{path:path}")
        def everything_else(request: Request) -> Response:
            return self._pass_on(request)

        return app

    def _forged(self, asset_id: int) -> Response:
        data = FORGED
        if self.forge_same_size:
            size = httpx.get(f"{self.honest_url}/v1/assets/{asset_id}", timeout=10).json()["size"]
            data = (FORGED * (size // len(FORGED) + 1))[:size]
        return Response(data, media_type="application/octet-stream",
                        headers={"ETag": '"forged"',
                                 "Content-Disposition": f'attachment; filename="asset-{asset_id}"'})

    def _pass_on(self, request: Request) -> Response:
        """The honest gateway's answer to the same GET."""
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() in ("accept", "authorization")}
        honest = httpx.get(f"{self.honest_url}{request.url.path}", params=request.query_params,
                           headers=headers, timeout=30)
        return Response(honest.content, status_code=honest.status_code,
                        headers={name: value for name, value in honest.headers.items()
                                 if name.lower() in PASSED_HEADERS})

    async def _forward_invoke(self, asset_id: int, request: Request) -> Response:
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() in ("content-type", VOUCHER_HEADER.lower())}
        async with httpx.AsyncClient(timeout=60) as client:
            honest = await client.post(f"{self.honest_url}/v1/models/{asset_id}/invoke",
                                       content=await request.body(), headers=headers)
        answer = {name: value for name, value in honest.headers.items()
                  if name.lower() in ("content-type", ACCEPTED_HEADER.lower())}
        if self.accepted_lie is not None and honest.status_code == 200:
            answer[ACCEPTED_HEADER] = str(self.accepted_lie)
        return Response(honest.content, status_code=honest.status_code, headers=answer)


@contextmanager
def running(hostile: HostileGateway) -> Iterator[HostileGateway]:
    """Serve `hostile` on its port in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(hostile.app(), host="127.0.0.1", port=hostile.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="hostile-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hostile gateway did not start")
        time.sleep(0.05)
    try:
        yield hostile
    finally:
        server.should_exit = True
        thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description="a hostile gateway in front of HONEST_URL")
    parser.add_argument("honest_url")
    parser.add_argument("--no-relay", action="store_true",
                        help="sign in with its own challenge (then serve forged downloads)")
    parser.add_argument("--same-size", action="store_true",
                        help="forge downloads as long as the real content")
    parser.add_argument("--chain-id", type=int, default=1337)
    options = parser.parse_args()
    hostile = HostileGateway(options.honest_url.rstrip("/"), chain_id=options.chain_id,
                             relay_sign_in=not options.no_relay,
                             forge_same_size=options.same_size)
    with running(hostile):
        print(json.dumps({"url": hostile.url}), flush=True)
        while sys.stdin.buffer.read(1):
            pass


if __name__ == "__main__":
    main()
