"""An async client for Robinhood's official Crypto Trading API (httpx), every request signed.

Each request carries `x-api-key`, `x-timestamp` (UNIX seconds; the venue accepts a window of
about 30 s) and `x-signature`: base64(Ed25519-sign(private key,
f"{api_key}{timestamp}{path}{method}{body}")), `path` with its query string, `body` the exact
JSON text sent ("" for a GET). The signing uses `cryptography` (the `robinhood-crypto` extra),
imported when a signer is made.

Outcomes are typed: `VenueRefused` (a 4xx: the venue read the request and said no),
`VenueUnclear` (a timeout, a dropped connection, a 5xx, a garbled answer: for an order, it may
or may not exist) and `RateLimited` (429s beyond the caller's patience; `Retry-After` is honoured
before that). Key material never appears in a repr, a message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from robo_tui.adapters.brokers.robinhood_crypto.models import (
    BestBidAsk,
    ErrorBody,
    Holding,
    OrderRequest,
    Page,
    TradingAccount,
    TradingPair,
    VenueOrder,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Params = Sequence[tuple[str, str]]

MAX_PAGES = 50
"""Most pages one listing follows (a runaway cursor must not loop forever)."""
MAX_RETRY_AFTER_SECONDS = 60.0
"""Longest `Retry-After` honoured; beyond it the request fails as rate-limited."""

ACCOUNT_PATH = "/api/v1/crypto/trading/accounts/"
PAIRS_PATH = "/api/v1/crypto/trading/trading_pairs/"
HOLDINGS_PATH = "/api/v1/crypto/trading/holdings/"
ORDERS_PATH = "/api/v1/crypto/trading/orders/"
BEST_BID_ASK_PATH = "/api/v1/crypto/marketdata/best_bid_ask/"


class CryptoApiError(Exception):
    """Base of the client's errors (messages carry no key material)."""


class VenueRefused(CryptoApiError):
    """A 4xx answer: the venue read the request and refused it (nothing was done)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class VenueUnclear(CryptoApiError, ConnectionError):
    """No clear answer (timeout, dropped connection, 5xx, malformed body): the request may have
    been carried out."""


class RateLimited(CryptoApiError):
    """Still 429 after backing off as long as the caller allows (the request was not carried out)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate-limited by Robinhood; retry after {retry_after:g}s")
        self.retry_after = retry_after


class Ed25519Signer:
    """Signs requests with the API key's Ed25519 private key; its repr shows no key material."""

    __slots__ = ("_api_key", "_key")

    def __init__(self, api_key: str, private_key_b64: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not api_key:
            raise ValueError("the Robinhood API key is empty")
        try:
            raw = base64.b64decode(private_key_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the Robinhood private key is not base64") from None
        if len(raw) not in (32, 64):  # a seed, or a seed followed by its public key (PyNaCl)
            raise ValueError(f"the Robinhood private key must be a 32-byte Ed25519 seed in "
                             f"base64, got {len(raw)} bytes")
        self._api_key = api_key
        self._key = Ed25519PrivateKey.from_private_bytes(raw[:32])

    def __repr__(self) -> str:
        return "Ed25519Signer(<redacted>)"

    def public_key_b64(self) -> str:
        """The public half, base64 (what is registered in Robinhood's API settings)."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return base64.b64encode(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()

    def headers(self, method: str, path: str, body: str, timestamp: int) -> dict[str, str]:
        """The three auth headers for one request (`path` with its query string)."""
        message = f"{self._api_key}{timestamp}{path}{method}{body}".encode()
        signature = base64.b64encode(self._key.sign(message)).decode()
        return {"x-api-key": self._api_key, "x-timestamp": str(timestamp),
                "x-signature": signature}


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def _http_date(value: str) -> datetime | None:
    """An HTTP `Date` header as an aware UTC datetime (None when absent or malformed)."""
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _reason(response: httpx.Response) -> str:
    try:
        return ErrorBody.model_validate(response.json()).text()
    except (ValueError, ValidationError):
        return response.text.strip()[:200] or response.reason_phrase or "no reason given"


class CryptoTradingClient:
    """The API's endpoints as typed calls (one `httpx.AsyncClient`, one venue)."""

    def __init__(self, base_url: str, signer: Ed25519Signer, *, timeout: float,
                 now: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._signer = signer
        self._now = now
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=self._base, timeout=timeout, transport=transport,
                                       headers={"accept": "application/json"})
        self.venue_date: datetime | None = None
        """The `Date` header of the latest answer: the venue's clock (to the second)."""

    def __repr__(self) -> str:
        return f"CryptoTradingClient({self._base!r})"

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    async def request(self, method: str, path: str, params: Params = (),
                      body: Mapping[str, Any] | None = None, *,
                      deadline: float | None = None) -> Any:
        """One signed request; the decoded JSON answer (None for an empty body).

        A 429 is retried after its `Retry-After` while that ends before `deadline` (a
        `time.monotonic()` value; None: one timeout from now), never waiting longer than
        `MAX_RETRY_AFTER_SECONDS`."""
        if deadline is None:
            deadline = time.monotonic() + self._timeout
        target = httpx.URL(path, params=list(params)) if params else httpx.URL(path)
        signed_path = target.raw_path.decode("ascii")
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        while True:
            headers = self._signer.headers(method, signed_path, text, int(self._now()))
            if body is not None:
                headers["content-type"] = "application/json"
            try:
                response = await self._http.request(method, signed_path, content=text or None,
                                                    headers=headers)
            except httpx.TimeoutException as exc:
                raise VenueUnclear(f"no answer from Robinhood within the timeout ({method} {path})") from exc
            except httpx.HTTPError as exc:
                raise VenueUnclear(f"the connection to Robinhood failed: {type(exc).__name__}") from exc
            self.venue_date = _http_date(response.headers.get("date", "")) or self.venue_date
            if response.status_code == 429:
                wait = _retry_after(response, 1.0)
                limit = min(MAX_RETRY_AFTER_SECONDS, deadline - time.monotonic())
                if wait > limit:
                    raise RateLimited(wait)
                log.info("Robinhood rate limit: waiting %.1fs before %s %s", wait, method, path)
                await asyncio.sleep(wait)
                continue
            return self._decode(response, method, path)

    @staticmethod
    def _decode(response: httpx.Response, method: str, path: str) -> Any:
        status = response.status_code
        if status >= 500:
            raise VenueUnclear(f"Robinhood answered HTTP {status} to {method} {path}")
        if status >= 400:
            raise VenueRefused(status, _reason(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise VenueUnclear(f"Robinhood sent a body that is not JSON ({method} {path})") from exc

    async def _get(self, model: type[M], path: str, params: Params = ()) -> M:
        try:
            return model.model_validate(await self.request("GET", path, params))
        except ValidationError as exc:
            raise VenueUnclear(f"unexpected answer from Robinhood to GET {path}: "
                               f"{exc.error_count()} problems") from exc

    async def _pages(self, model: type[M], path: str, params: Params = ()) -> list[M]:
        """Every result of a paginated listing, following `next` (on this host only)."""
        out: list[M] = []
        page_model = Page[model]  # type: ignore[valid-type]
        current_path, current_params = path, params
        for _ in range(MAX_PAGES):
            page = await self._get(page_model, current_path, current_params)
            out.extend(page.results)
            if not page.next:
                return out
            nxt = httpx.URL(page.next)
            current_path, current_params = nxt.path, list(nxt.params.multi_items())
        log.warning("stopped following %s after %d pages", path, MAX_PAGES)
        return out

    # ------------------------------------------------------------------ endpoints

    async def account(self) -> TradingAccount:
        """The crypto trading account and its buying power."""
        return await self._get(TradingAccount, ACCOUNT_PATH)

    async def trading_pairs(self, symbols: Sequence[str] = ()) -> list[TradingPair]:
        """Every trading pair (or the ones named), with increments and size limits."""
        return await self._pages(TradingPair, PAIRS_PATH, [("symbol", s) for s in symbols])

    async def holdings(self) -> list[Holding]:
        """Every asset held."""
        return await self._pages(Holding, HOLDINGS_PATH)

    async def best_bid_ask(self, symbols: Sequence[str]) -> list[BestBidAsk]:
        """The best bid and ask of each pair named."""
        page = await self._get(Page[BestBidAsk], BEST_BID_ASK_PATH, [("symbol", s) for s in symbols])
        return page.results

    async def orders(self, params: Params = ()) -> list[VenueOrder]:
        """Orders matching the filters (symbol, side, state, type, created_at_start, ...)."""
        return await self._pages(VenueOrder, ORDERS_PATH, params)

    async def order(self, order_id: str) -> VenueOrder:
        """One order by the venue's id."""
        return await self._get(VenueOrder, f"{ORDERS_PATH}{order_id}/")

    async def place_order(self, order: OrderRequest, *, deadline: float | None = None) -> VenueOrder:
        """Place an order (it carries our client_order_id: a repeat returns the original)."""
        answer = await self.request("POST", ORDERS_PATH, body=order.body(), deadline=deadline)
        try:
            return VenueOrder.model_validate(answer)
        except ValidationError as exc:
            raise VenueUnclear("unexpected answer from Robinhood to an order") from exc

    async def cancel_order(self, order_id: str) -> None:
        """Ask the venue to cancel an open order."""
        await self.request("POST", f"{ORDERS_PATH}{order_id}/cancel/")
