"""A fake TWS / IB Gateway on 127.0.0.1 that speaks the real TWS API wire protocol.

Enough of it for ib_async's startup and order flow: the handshake ("API\\0" + a length-prefixed
version range, answered by the server version and connection time), startApi → nextValidId +
managedAccounts, reqPositions, reqOpenOrders/reqAllOpenOrders, reqCompletedOrders,
reqAccountUpdates(Multi), reqExecutions, reqAccountSummary, placeOrder (openOrder, orderStatus,
execDetails, commissionReport, position and portfolio updates), cancelOrder and reqGlobalCancel,
reqCurrentTime. Message layouts follow ib_async's decoder for server version 176.

It is a tiny exchange too: market orders fill at the price set with `set_price`, limit orders
rest until the price trades through them, bracket children (parentId, OCA group) wait for their
parent and then trigger on price (a stop at the price, a limit at its level or better), and cash,
positions (average cost includes commission, as TWS does) and executions are booked.

Failure modes for tests: `hang_orders` (placeOrder is read and never answered), `drop_on_order`
(the connection is closed when a placeOrder arrives), `reject_next` (error 201 for the next
order), `go_silent()` (the socket stays open, nothing is answered).

Market data (for the IB feed): reqContractDetails (contractDetails + contractDetailsEnd, with min
tick and trading hours; error 200 for an unknown symbol), reqMarketDataType (a connection not
entitled to live data gets delayed, as TWS does, with error 10167), reqMktData (marketDataType,
then bid/ask/last tickPrice 1/2/4 live, 66/67/68 delayed, and their tickSize), cancelMktData, reqHistoricalData
(historicalData from the series set with `set_bars`, and with keepUpToDate historicalDataUpdate
for each `push_bar`), cancelHistoricalData. `set_quote` ticks every subscriber.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SERVER_VERSION = 176


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)


def encode(fields: list[Any]) -> bytes:
    """One length-prefixed TWS message: fields joined by NUL, each NUL-terminated."""
    payload = "".join(_fmt(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


@dataclass
class ServerContract:
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str

    @property
    def key(self) -> str:
        return f"{self.symbol}-{self.currency}" if self.sec_type == "CRYPTO" else self.symbol.replace(" ", ".")


@dataclass
class ServerOrder:
    client_id: int
    order_id: int
    perm_id: int
    contract: ServerContract
    action: str
    qty: float
    order_type: str
    lmt: float | None
    aux: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill: float = 0.0
    last_fill: float = 0.0
    why: str = ""
    children: list[ServerOrder] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        return self.qty - self.filled

    @property
    def active(self) -> bool:
        return self.status in ("PreSubmitted", "Submitted")

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "ApiCancelled", "Inactive")


@dataclass
class Execution:
    exec_id: str
    order: ServerOrder
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    commission: float
    time: str


class _Conn:
    def __init__(self, server: FakeTws, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.client_id = -1
        self.positions_subscribed = False
        self.account_updates = False
        self.market_data_type = 1
        self.mkt_subs: dict[int, str] = {}  # reqMktData reqId → symbol key
        self.hist_subs: dict[int, str] = {}  # keepUpToDate reqHistoricalData reqId → symbol key

    def send(self, fields: list[Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(fields))


class FakeTws:
    """The fake TWS; `await start()` returns the port it listens on (127.0.0.1)."""

    def __init__(self, *, accounts: tuple[str, ...] = ("DU1234567",), cash: float = 100_000.0,
                 commission_per_share: float = 0.0, commission_min: float = 0.0) -> None:
        self.accounts = accounts
        self.cash = {a: cash for a in accounts}
        self.commission_per_share = commission_per_share
        self.commission_min = commission_min
        self.prices: dict[str, float] = {}
        self.positions: dict[tuple[str, str], list[Any]] = {}  # (account, key) → [contract, qty, avg]
        self.orders: list[ServerOrder] = []
        self.executions: list[Execution] = []
        self.received: list[list[str]] = []
        self.contract_details_requests: list[list[str]] = []
        self.hang_orders = False
        self.drop_on_order = False
        self.reject_next: str | None = None
        self.silent = False
        self.next_valid_id = 1
        self._perm = 900_000
        self._exec = 0
        self._con_ids: dict[str, int] = {}
        self._conns: list[_Conn] = []
        self._server: asyncio.Server | None = None
        self.port = 0
        # market data
        self.live_entitled = True
        self.bars: dict[str, list[tuple[int, float, float, float, float, float]]] = {}
        self.quotes: dict[str, tuple[float, float, float]] = {}
        self.details: dict[str, dict[str, Any]] = {}
        self.hist_requests: list[list[str]] = []
        # the venue's clock: seconds it runs ahead of this machine's (reqCurrentTime)
        self.clock_offset = 0.0

    # ------------------------------------------------------------------ control

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for conn in list(self._conns):
            conn.writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_connections(self) -> None:
        """Close every client connection (as a TWS restart would)."""
        for conn in list(self._conns):
            conn.writer.close()

    def go_silent(self) -> None:
        """Keep sockets open but answer nothing from now on."""
        self.silent = True

    def placed(self) -> list[list[str]]:
        """The placeOrder messages received so far."""
        return [m for m in self.received if m and m[0] == "3"]

    async def settle(self) -> None:
        """Let every message sent so far reach the clients (same event loop, loopback)."""
        for conn in self._conns:
            if not conn.writer.is_closing():
                await conn.writer.drain()
        await asyncio.sleep(0.05)

    def set_price(self, symbol: str, price: float) -> None:
        """The market trades at `price`: resting limits and stops that it reaches fill."""
        self.prices[symbol] = price
        self._match(symbol)

    def position(self, account: str, symbol: str) -> float:
        entry = self.positions.get((account, symbol))
        return float(entry[1]) if entry else 0.0

    # ------------------------------------------------------------------ wire

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(self, writer)
        self._conns.append(conn)
        try:
            prefix = await reader.readexactly(4)
            if prefix != b"API\0":
                return
            (n,) = struct.unpack(">I", await reader.readexactly(4))
            await reader.readexactly(n)  # b"v157..178"
            if self.silent:
                await reader.read()
                return
            conn.send([SERVER_VERSION, datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")])
            while True:
                (n,) = struct.unpack(">I", await reader.readexactly(4))
                fields = (await reader.readexactly(n)).decode().split("\0")[:-1]
                self.received.append(fields)
                if self.silent:
                    continue
                self._handle(conn, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client hung up, or the server is stopping
        finally:
            self._conns.remove(conn)
            writer.close()

    def _handle(self, conn: _Conn, f: list[str]) -> None:
        msg = int(f[0])
        if msg == 71:  # startApi
            conn.client_id = int(f[2])
            conn.send([9, 1, self.next_valid_id])
            conn.send([15, 1, ",".join(self.accounts)])
        elif msg == 61:  # reqPositions
            conn.positions_subscribed = True
            for (account, _key), (contract, qty, avg) in self.positions.items():
                conn.send(self._position_msg(account, contract, qty, avg))
            conn.send([62, 1])
        elif msg in (5, 16):  # reqOpenOrders, reqAllOpenOrders
            for o in self.orders:
                if not o.done and o.status != "PendingSubmit" and (msg == 16 or o.client_id == conn.client_id):
                    conn.send(self._open_order_msg(o))
                    conn.send(self._status_msg(o))
            conn.send([53, 1])
        elif msg == 99:  # reqCompletedOrders
            for o in self.orders:
                if o.done:
                    conn.send(self._completed_msg(o))
            conn.send([102])
        elif msg == 6:  # reqAccountUpdates
            account = f[3]
            conn.account_updates = f[2] == "1"
            conn.send([6, 2, "TotalCashValue", _fmt(self.cash.get(account, 0.0)), "USD", account])
            for (acct, _key), (contract, qty, avg) in self.positions.items():
                if acct == account:
                    conn.send(self._portfolio_msg(acct, contract, qty, avg))
            conn.send([54, 1, account])
        elif msg == 76:  # reqAccountUpdatesMulti
            conn.send([74, 1, int(f[2])])
        elif msg == 7:  # reqExecutions
            req_id = int(f[2])
            for ex in self.executions:
                if ex.order.client_id == conn.client_id or int(f[3] or 0) == 0:
                    conn.send(self._exec_msg(req_id, ex))
                    conn.send(self._commission_msg(ex))
            conn.send([55, 1, req_id])
        elif msg == 62:  # reqAccountSummary
            req_id, tags = int(f[2]), f[4].split(",")
            for account in self.accounts:
                values = {"TotalCashValue": self.cash[account],
                          "NetLiquidation": self._net_liq(account),
                          "BuyingPower": self.cash[account] * 4}
                for tag in tags:
                    if tag in values:
                        conn.send([63, 1, req_id, account, tag, _fmt(round(values[tag], 2)), "USD"])
            conn.send([64, 1, req_id])
        elif msg == 49:  # reqCurrentTime
            conn.send([49, 1, int(time.time() + self.clock_offset)])
        elif msg == 8:  # reqIds
            conn.send([9, 1, self.next_valid_id])
        elif msg == 3:
            self._place(conn, f)
        elif msg == 4:  # cancelOrder
            self._cancel(conn, int(f[2]))
        elif msg == 58:  # reqGlobalCancel
            for o in self.orders:
                if not o.done:
                    self._set_cancelled(o)
        elif msg in (1, 2, 9, 20, 25, 59):
            self._handle_market_data(conn, msg, f)

    # ------------------------------------------------------------------ orders

    def _contract(self, f: list[str]) -> ServerContract:
        symbol, sec_type, exchange, currency = f[3], f[4], f[9], f[11]
        key = f"{symbol}/{sec_type}/{currency}"
        con_id = self._con_ids.setdefault(key, 265_598 + len(self._con_ids))
        return ServerContract(con_id, symbol, sec_type, exchange, currency)

    def _place(self, conn: _Conn, f: list[str]) -> None:
        if self.drop_on_order:
            conn.writer.close()
            return
        if self.hang_orders:
            return
        order_id = int(f[1])
        self.next_valid_id = max(self.next_valid_id, order_id + 1)
        self._perm += 1
        o = ServerOrder(
            client_id=conn.client_id, order_id=order_id, perm_id=self._perm,
            contract=self._contract(f), action=f[16], qty=float(f[17]), order_type=f[18],
            lmt=float(f[19]) if f[19] else None, aux=float(f[20]) if f[20] else None,
            tif=f[21], oca_group=f[22], account=f[23] or self.accounts[0], order_ref=f[26],
            transmit=f[27] == "1", parent_id=int(f[28] or 0),
        )
        self.orders.append(o)
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            o.status = "Cancelled"
            conn.send([4, 2, order_id, 201, f"Order rejected - reason:{reason}", ""])
            conn.send(self._status_msg(o))
            return
        if o.parent_id:
            parent = next(p for p in self.orders
                          if p.order_id == o.parent_id and p.client_id == o.client_id)
            parent.children.append(o)
        if not o.transmit:
            return
        root = next((p for p in self.orders if p.order_id == o.parent_id
                     and p.client_id == o.client_id), o) if o.parent_id else o
        for x in [root, *root.children]:
            x.status = "PreSubmitted" if x.parent_id else "Submitted"
            self._notify(x, open_order=True)
        self._match(root.contract.key)

    def _owner(self, o: ServerOrder) -> list[_Conn]:
        return [c for c in self._conns if c.client_id == o.client_id]

    def _notify(self, o: ServerOrder, *, open_order: bool = False) -> None:
        for conn in self._owner(o):
            if open_order:
                conn.send(self._open_order_msg(o))
            conn.send(self._status_msg(o))

    def _cancel(self, conn: _Conn, order_id: int) -> None:
        o = next((x for x in self.orders if x.order_id == order_id and x.client_id == conn.client_id), None)
        if o is None or o.done:
            conn.send([4, 2, order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.", ""])
            return
        self._set_cancelled(o)

    def _set_cancelled(self, o: ServerOrder) -> None:
        o.status = "Cancelled"
        for conn in self._owner(o):
            conn.send(self._status_msg(o))
            conn.send([4, 2, o.order_id, 202, "Order Canceled - reason:", ""])
        if o.filled == 0:
            for child in o.children:
                if not child.done:
                    self._set_cancelled(child)

    def _match(self, key: str) -> None:
        price = self.prices.get(key)
        if price is None:
            return
        for o in list(self.orders):
            if o.contract.key != key or not o.active:
                continue
            if o.parent_id:
                parent = next(p for p in self.orders if p.order_id == o.parent_id and p.client_id == o.client_id)
                if parent.status != "Filled":
                    continue
            if self._marketable(o, price):
                self._fill(o, o.remaining, price)

    @staticmethod
    def _marketable(o: ServerOrder, price: float) -> bool:
        buy = o.action == "BUY"
        if o.order_type == "MKT":
            return True
        if o.order_type == "LMT" and o.lmt is not None:
            return price <= o.lmt if buy else price >= o.lmt
        if o.order_type == "STP" and o.aux is not None:
            return price >= o.aux if buy else price <= o.aux
        return False

    def _fill(self, o: ServerOrder, qty: float, price: float) -> None:
        self._exec += 1
        commission = max(self.commission_min, self.commission_per_share * qty) if qty else 0.0
        o.avg_fill = (o.avg_fill * o.filled + price * qty) / (o.filled + qty)
        o.filled += qty
        o.last_fill = price
        o.status = "Filled" if o.remaining <= 1e-12 else "Submitted"
        ex = Execution(f"0000e0d5.{self._exec:08d}.01.01", o, qty, price, o.filled, o.avg_fill,
                       commission, datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC"))
        self.executions.append(ex)
        sign = 1 if o.action == "BUY" else -1
        self.cash[o.account] -= sign * qty * price + commission
        contract, held, avg = self.positions.get((o.account, o.contract.key), [o.contract, 0.0, 0.0])
        new = held + sign * qty
        if held == 0 or (held > 0) == (sign > 0):
            avg = (abs(held) * avg + qty * price + sign * commission) / abs(new)
        elif abs(new) > 1e-12 and (new > 0) != (held > 0):
            avg = price
        if abs(new) < 1e-12:
            self.positions.pop((o.account, o.contract.key), None)
        else:
            self.positions[(o.account, o.contract.key)] = [contract, new, avg]
        for conn in self._owner(o):
            conn.send(self._exec_msg(-1, ex))
            conn.send(self._status_msg(o))
            conn.send(self._open_order_msg(o))
            conn.send(self._commission_msg(ex))
        for conn in self._conns:
            if conn.positions_subscribed:
                conn.send(self._position_msg(o.account, contract, new, avg))
            if conn.account_updates:
                conn.send(self._portfolio_msg(o.account, contract, new, avg))
        if o.status == "Filled":
            if o.oca_group:
                for sib in self.orders:
                    if sib is not o and sib.oca_group == o.oca_group and not sib.done:
                        self._set_cancelled(sib)
            for child in o.children:
                child.status = "Submitted"
                self._notify(child)
            if o.children:
                self._match(o.contract.key)

    def _net_liq(self, account: str) -> float:
        total = self.cash[account]
        for (acct, key), (_c, qty, avg) in self.positions.items():
            if acct == account:
                total += qty * self.prices.get(key, avg)
        return total

    # ------------------------------------------------------------------ message layouts

    @staticmethod
    def _contract_fields(c: ServerContract) -> list[Any]:
        # conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, currency,
        # localSymbol, tradingClass
        return [c.con_id, c.symbol, c.sec_type, "", "", "", "", c.exchange, c.currency, c.symbol, ""]

    def _status_msg(self, o: ServerOrder) -> list[Any]:
        return [3, o.order_id, o.status, _fmt(o.filled), _fmt(o.remaining), _fmt(o.avg_fill),
                o.perm_id, o.parent_id, _fmt(o.last_fill), o.client_id, o.why, ""]

    def _open_order_msg(self, o: ServerOrder) -> list[Any]:
        head = [5, o.order_id, *self._contract_fields(o.contract),
                o.action, _fmt(o.qty), o.order_type, _fmt(o.lmt), _fmt(o.aux), o.tif, o.oca_group,
                o.account, "O", 0, o.order_ref, o.client_id, o.perm_id, 0, 0, 0, "", "", "", "", ""]
        fa_profile = [""]
        block: list[Any] = [""] * 29
        block[19] = 1 if o.oca_group else 0  # ocaType
        block[23] = o.parent_id
        tail = (["", "", "", "", "", "", ""] + [0, 0, 0] + ["", "", ""] + [""]
                + ["", "", "", 0, 0] + [""]
                + ["", 0, o.status] + [""] * 9 + ["", "", "", "", "", 0, 0]
                + [0]
                + [""] * 16 + ["", "", ""] + [""] * 5 + [""] * 8)
        return head + fa_profile + block + tail

    def _completed_msg(self, o: ServerOrder) -> list[Any]:
        head = [101, *self._contract_fields(o.contract), o.action, _fmt(o.qty), o.order_type,
                _fmt(o.lmt), _fmt(o.aux), o.tif, o.oca_group, o.account, "O", 0, o.order_ref,
                o.perm_id, 0, 0, 0, "", "", "", ""]
        fa_profile = [""]
        block = [""] * 23
        tail = (["", "", "", "", ""] + [0, 0, 0] + ["", "", ""] + [""] + ["", "", 0, 0] + [""]
                + ["", o.status, 0, 0] + [0]
                + ["", "", "", 0, 0, "", _fmt(o.filled), "", 0, "", 0, 0, "", "", o.status]
                + [""] * 5 + [""] * 8)
        return head + fa_profile + block + tail

    def _exec_msg(self, req_id: int, ex: Execution) -> list[Any]:
        o = ex.order
        return [11, req_id, o.order_id, *self._contract_fields(o.contract), ex.exec_id, ex.time,
                o.account, o.contract.exchange or "ISLAND", "BOT" if o.action == "BUY" else "SLD",
                _fmt(ex.shares), _fmt(ex.price), o.perm_id, o.client_id, 0, _fmt(ex.cum_qty),
                _fmt(ex.avg_price), o.order_ref, "", "", "", 2]

    @staticmethod
    def _commission_msg(ex: Execution) -> list[Any]:
        return [59, 1, ex.exec_id, _fmt(ex.commission), "USD", "", "", ""]

    def _position_msg(self, account: str, c: ServerContract, qty: float, avg: float) -> list[Any]:
        return [61, 3, account, *self._contract_fields(c), _fmt(qty), _fmt(avg)]

    def _portfolio_msg(self, account: str, c: ServerContract, qty: float, avg: float) -> list[Any]:
        price = self.prices.get(c.key, avg)
        return [7, 8, c.con_id, c.symbol, c.sec_type, "", "", "", "", c.exchange, c.currency,
                c.symbol, "", _fmt(qty), _fmt(price), _fmt(qty * price), _fmt(avg),
                _fmt((price - avg) * qty), "0", account]

    # ------------------------------------------------------------------ market data (IB feed)

    def _handle_market_data(self, conn: _Conn, msg: int, f: list[str]) -> None:
        if msg == 59:  # reqMarketDataType
            wanted = int(f[2])
            conn.market_data_type = wanted if self.live_entitled or wanted in (3, 4) else (
                4 if wanted == 2 else 3)
        elif msg == 1:  # reqMktData: version, reqId, contract (12 fields), dnc, ticks, snapshot, ...
            req_id, key = int(f[2]), _market_key(f[4], f[5], f[12])
            conn.mkt_subs[req_id] = key
            if not self.live_entitled:
                conn.send([4, 2, req_id, 10167, ("Requested market data is not subscribed. "
                                                 "Displaying delayed market data."), ""])
            conn.send([58, 1, req_id, conn.market_data_type])
            if key in self.quotes:
                self._send_quote(conn, req_id, key)
        elif msg == 2:  # cancelMktData
            conn.mkt_subs.pop(int(f[2]), None)
        elif msg == 9:  # reqContractDetails: version, reqId, contract (12 fields), ...
            self.contract_details_requests.append(f)
            req_id, key = int(f[2]), _market_key(f[4], f[5], f[12])
            if key not in self.details and key not in self.bars and key not in self.quotes:
                if not (self.details or self.bars or self.quotes):
                    conn.send([52, 1, req_id])  # a TWS serving no market data: no details at all
                    return  # (the broker's increments fall back to the stock defaults)
                conn.send([4, 2, req_id, 200, "No security definition has been found for the request", ""])
                return
            conn.send(self._details_msg(req_id, f[4], f[5], f[11] or f[10], f[12], key))
            conn.send([52, 1, req_id])
        elif msg == 20:  # reqHistoricalData: reqId, contract (12 fields), includeExpired, end, size, ...
            self.hist_requests.append(f)
            req_id, key = int(f[1]), _market_key(f[3], f[4], f[11])
            bar_size, duration, keep = f[16], f[17], f[21] == "1"
            step = _seconds_of(bar_size, _BAR_SIZES)
            series = self.bars.get(key, [])
            if not series:
                conn.send([4, 2, req_id, 162, ("Historical Market Data Service error message:HMDS "
                                               "query returned no data"), ""])
                return
            end = series[-1][0] + step
            start = end - _seconds_of(duration, _DURATION_UNITS)
            rows = [b for b in series if b[0] >= start]
            out: list[Any] = [17, req_id, _ib_time(start), _ib_time(end), len(rows)]
            for ts, o, h, lo, c, v in rows:
                out += [str(ts), _fmt(o), _fmt(h), _fmt(lo), _fmt(c), _fmt(v), _fmt(c), 1]
            conn.send(out)
            if keep:
                conn.hist_subs[req_id] = key
        elif msg == 25:  # cancelHistoricalData
            conn.hist_subs.pop(int(f[2]), None)

    def _details_msg(self, req_id: int, symbol: str, sec_type: str, exchange: str,
                     currency: str, key: str) -> list[Any]:
        d = {"min_tick": 0.01, "long_name": symbol, "time_zone": "US/Eastern",
             "trading_hours": "20261203:0400-20261203:2000;20261204:0400-20261204:2000",
             "liquid_hours": "20261203:0930-20261203:1600;20261204:0930-20261204:1600",
             **self.details.get(key, {})}
        con_id = self._con_ids.setdefault(f"{symbol}/{sec_type}/{currency}", 265_598 + len(self._con_ids))
        return [10, req_id, symbol, sec_type, "", 0, "", exchange or "SMART", currency, symbol,
                "NMS", symbol, con_id, _fmt(d["min_tick"]), "", "ACTIVETIM,LMT,MKT,STP", "SMART,ISLAND",
                1, 0, d["long_name"], "NASDAQ", "", "Technology", "Computers", "Computers",
                d["time_zone"], d["trading_hours"], d["liquid_hours"], "", 0, 0,
                1, "", "", "", "", "COMMON", "0.0001", "0.0001", "100"]

    def _send_quote(self, conn: _Conn, req_id: int, key: str) -> None:
        bid, ask, last = self.quotes[key]
        delayed = conn.market_data_type in (3, 4)
        for tick, price in ((1, bid), (2, ask), (4, last)):
            conn.send([1, 6, req_id, _DELAYED_TICKS[tick] if delayed else tick, _fmt(price), "100", 0])
        for tick in (0, 3, 5):  # bid, ask and last size follow as tickSize, as TWS sends them
            conn.send([2, 6, req_id, _DELAYED_SIZES[tick] if delayed else tick, "100"])

    def set_bars(self, symbol: str, rows: list[tuple[int, float, float, float, float, float]]) -> None:
        """The bar series of `symbol`: (start epoch seconds, open, high, low, close, volume), oldest first."""
        self.bars[symbol] = list(rows)

    def push_bar(self, symbol: str, row: tuple[int, float, float, float, float, float]) -> None:
        """A new (or updated, same start) bar: historicalDataUpdate to every keepUpToDate subscriber."""
        series = self.bars.setdefault(symbol, [])
        if series and series[-1][0] == row[0]:
            series[-1] = row
        else:
            series.append(row)
        ts, o, h, lo, c, v = row
        for conn in self._conns:
            for req_id, key in conn.hist_subs.items():
                if key == symbol:
                    conn.send([90, req_id, 1, str(ts), _fmt(o), _fmt(c), _fmt(h), _fmt(lo), _fmt(c), _fmt(v)])

    def set_quote(self, symbol: str, bid: float, ask: float, last: float) -> None:
        """The market's bid/ask/last: ticks to every reqMktData subscriber (delayed ticks for delayed)."""
        self.quotes[symbol] = (bid, ask, last)
        for conn in self._conns:
            for req_id, key in conn.mkt_subs.items():
                if key == symbol:
                    self._send_quote(conn, req_id, key)


_DURATION_UNITS = {"S": 1, "D": 86_400, "W": 7 * 86_400, "M": 31 * 86_400, "Y": 366 * 86_400}


_BAR_SIZES = {"secs": 1, "sec": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600,
              "day": 86_400, "week": 7 * 86_400, "month": 31 * 86_400}


_DELAYED_TICKS = {1: 66, 2: 67, 4: 68}


_DELAYED_SIZES = {0: 69, 3: 70, 5: 71}


def _market_key(symbol: str, sec_type: str, currency: str) -> str:
    return f"{symbol}-{currency}" if sec_type == "CRYPTO" else symbol.replace(" ", ".")


def _seconds_of(text: str, units: dict[str, int]) -> int:
    number, _, unit = text.strip().partition(" ")
    return int(number) * units[unit.strip()]


def _ib_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d %H:%M:%S UTC")
