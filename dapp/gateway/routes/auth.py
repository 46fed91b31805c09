"""Sign-In with Ethereum: a nonce, then a signed EIP-4361 message for a session token."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dapp.gateway.auth.sessions import Session
from dapp.gateway.auth.siwe_login import utc_iso, verify_sign_in
from dapp.gateway.deps import AccountDep, PeerDep, ServicesDep

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


class NonceOut(BaseModel):
    nonce: str
    expires_at: str = Field(description="after this the nonce is refused (ISO 8601, UTC)")
    domain: str = Field(description="the `domain` your EIP-4361 message must carry")
    uri: str = Field(description="the `URI` your message must carry (or a URL under it)")
    chain_id: int


class SignInIn(BaseModel):
    message: str = Field(max_length=4096, description="the EIP-4361 message, as signed")
    signature: str = Field(max_length=2000, pattern=r"^0x[0-9a-fA-F]*$")


class SessionOut(BaseModel):
    token: str
    account: str
    expires_at: str
    token_type: str = "Bearer"


class MeOut(BaseModel):
    account: str


@router.get("/nonce", response_model=NonceOut)
def issue_nonce(services: ServicesDep, peer: PeerDep) -> NonceOut:
    """A single-use nonce and the values a Sign-In with Ethereum message must contain. A client
    address holds a bounded number of unused nonces (429 beyond, with Retry-After); so does the
    gateway in all (503)."""
    policy = services.siwe_policy()
    nonce, expires_at = services.nonces.issue(peer.client_key)
    return NonceOut(nonce=nonce, expires_at=utc_iso(expires_at), domain=policy.domain,
                    uri=policy.origin, chain_id=policy.chain_id)


@router.post("/siwe", response_model=SessionOut,
             responses={401: {"description": "signature, nonce, domain, chain or expiry wrong"}})
def sign_in(body: SignInIn, services: ServicesDep) -> SessionOut:
    """Exchange a signed EIP-4361 message for a short-lived session token."""
    account, expires_at = verify_sign_in(
        body.message, body.signature, services.siwe_policy(), services.nonces, services.web3
    )
    token = services.sessions.issue(Session(account, services.chain_id, expires_at))
    return SessionOut(token=token, account=account, expires_at=utc_iso(expires_at))


@router.get("/me", response_model=MeOut)
def me(account: AccountDep) -> MeOut:
    """Who the gateway thinks you are (session token or signed request)."""
    return MeOut(account=account)
