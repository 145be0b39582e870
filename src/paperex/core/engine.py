"""The exchange state machine: ``Exchange.apply(command, ts) -> events``.

Pure and deterministic: no sockets, files, threads, wall clock or unseeded randomness. Time is an
argument. A rejected command raises ``ApiError`` and leaves the state untouched (validate, then mutate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal

from paperex.core import (
    background,
    delivery,
    funds,
    ledger,
    position_mode,
    prices,
    risk,
    rules,
    trading,
    triggers,
    upgrade,
)
from paperex.core.accounts import FULL_PERMISSIONS, PERMISSION_GROUPS, Account, ApiKey
from paperex.core.commands import (
    AddMargin,
    AmendOrder,
    CancelAll,
    CancelOrder,
    Command,
    ConfigureMarket,
    CreateAccount,
    CreateApiKey,
    CreateSubMember,
    Deposit,
    InterTransfer,
    MarketStep,
    PlaceOrder,
    SetAccountRules,
    SetAutoAddMargin,
    SetLeverage,
    SetLimitPriceAction,
    SetMarginMode,
    SetMmp,
    SetPrices,
    SetRiskLimit,
    SetSymbolRules,
    SetTpslMode,
    SetTradingStop,
    SwitchPositionMode,
    Tick,
    UniversalTransfer,
    UpgradeToUta,
    Withdraw,
)
from paperex.core.events import AccountCreated, ApiKeyCreated, BalanceChanged, Event
from paperex.core.instruments import Coin, Instrument, MarketSpec
from paperex.core.numbers import MAX_AMOUNT
from paperex.core.orders import Order
from paperex.core.samples import MarketSamples
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code

FIRST_UID = 100_000_001
ORDER_COMMANDS = PlaceOrder | AmendOrder | CancelOrder | CancelAll
POSITION_COMMANDS = SetLeverage | SetRiskLimit | SetTradingStop | AddMargin | SetAutoAddMargin | SwitchPositionMode \
    | SetTpslMode
ORDER_COMMAND_TYPES = frozenset(ORDER_COMMANDS.__args__)
RULED_COMMANDS = ORDER_COMMAND_TYPES | frozenset(POSITION_COMMANDS.__args__)  # the account rules apply to


class Exchange:
    def __init__(self, market: MarketSpec) -> None:
        self.market = market
        self.instruments: dict[tuple[str, str], Instrument] = {i.key: i for i in market.instruments}
        self.coins: dict[str, Coin] = {c.coin: c for c in market.coins}
        self.symbols: dict[tuple[str, str], SymbolState] = {i.key: SymbolState(i) for i in market.instruments}
        self.accounts: dict[int, Account] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.orders: dict[int, Order] = {}  # every order ever placed, by id
        self.link_ids: dict[tuple[int, str], int] = {}  # (uid, orderLinkId) -> order id
        self.fees_collected: dict[str, int] = {}
        self.deposits: dict[str, int] = {}  # every unit that ever entered the exchange, per coin
        self.withdrawn: dict[str, int] = {}  # every unit that left it (withdrawals, without their fees), per coin
        self.deposit_seq = 0  # deposit, withdrawal and transfer record ids (core.funds)
        self.withdraw_seq = 0
        self.transfer_seq = 0
        self.transfer_ids: set[str] = set()  # derived: the transferId of every transfer
        self.next_uid = FIRST_UID
        self.next_key_id = 1
        self.order_seq = 0
        self.exec_seq = 0
        self.seq = 0  # cross sequence: every order, execution and position change gets the next one
        self.last_ts = 0
        self.applied = 0  # number of accepted commands
        self.ledger_seq = 0  # transaction-log entry ids
        self.next_funding_check = 0  # derived: the earliest funding time of any symbol (0: check now)
        self.trigger_uids: set[int] = set()  # derived: accounts with conditional orders or TP/SL to watch
        self.sim: background.MarketSim | None = None  # the living market (ConfigureMarket), if any
        # dated futures listed so far (core.delivery), in listing order: (series, symbol, launch ms, delivery ms)
        self.dated: list[tuple[str, str, int, int]] = []
        self.next_dated_check = 0  # derived: when the calendar next lists, delivers or closes a contract
        self.futures: dict[tuple[str, str], list[SymbolState]] = {}  # derived: a perpetual's trading futures
        self.samples = MarketSamples()  # open interest and account counts every 5 minutes (core.samples)
        self._handlers: dict[type[Command], Callable[[Command, int], list[Event]]] = {
            CreateAccount: self._create_account,  # type: ignore[dict-item]
            CreateApiKey: self._create_api_key,  # type: ignore[dict-item]
            Deposit: lambda c, ts: funds.deposit(self, c, ts),  # type: ignore[arg-type]
            InterTransfer: lambda c, ts: funds.inter_transfer(self, c, ts),  # type: ignore[arg-type]
            UniversalTransfer: lambda c, ts: funds.universal_transfer(self, c, ts),  # type: ignore[arg-type]
            Withdraw: lambda c, ts: funds.withdraw(self, c, ts),  # type: ignore[arg-type]
            CreateSubMember: lambda c, ts: funds.create_sub_member(self, c, ts),  # type: ignore[arg-type]
            PlaceOrder: lambda c, ts: trading.place(self, c, ts),  # type: ignore[arg-type]
            AmendOrder: lambda c, ts: trading.amend(self, c, ts),  # type: ignore[arg-type]
            CancelOrder: lambda c, ts: trading.cancel(self, c, ts),  # type: ignore[arg-type]
            CancelAll: lambda c, ts: trading.cancel_all(self, c, ts),  # type: ignore[arg-type]
            SetPrices: self._set_prices,  # type: ignore[dict-item]
            SetLeverage: lambda c, ts: risk.set_leverage(self, c, ts),  # type: ignore[arg-type]
            SetRiskLimit: lambda c, ts: risk.set_risk_limit(self, c, ts),  # type: ignore[arg-type]
            SetMarginMode: lambda c, ts: risk.set_margin_mode(self, c, ts),  # type: ignore[arg-type]
            AddMargin: lambda c, ts: risk.add_margin(self, c, ts),  # type: ignore[arg-type]
            SetAutoAddMargin: lambda c, ts: risk.set_auto_add_margin(self, c, ts),  # type: ignore[arg-type]
            SwitchPositionMode: lambda c, ts: position_mode.switch_mode(self, c, ts),  # type: ignore[arg-type]
            SetTpslMode: lambda c, ts: triggers.set_tpsl_mode(self, c, ts),  # type: ignore[arg-type]
            SetAccountRules: self._set_account_rules,  # type: ignore[dict-item]
            SetSymbolRules: self._set_symbol_rules,  # type: ignore[dict-item]
            SetMmp: self._set_mmp,  # type: ignore[dict-item]
            SetLimitPriceAction: self._set_limit_price_action,  # type: ignore[dict-item]
            UpgradeToUta: lambda c, ts: upgrade.upgrade(self, c, ts),  # type: ignore[arg-type]
            SetTradingStop: lambda c, ts: triggers.set_trading_stop(self, c, ts),  # type: ignore[arg-type]
            ConfigureMarket: lambda c, ts: background.configure(self, c, ts),  # type: ignore[arg-type]
            MarketStep: lambda c, ts: background.step(self, c, ts),  # type: ignore[arg-type]
            Tick: lambda c, ts: [],
        }

    # -- the one entry point -------------------------------------------------------------------
    def apply(self, command: Command, ts: int) -> list[Event]:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise ApiError(Code.PARAM_ERROR, f"unknown command {type(command).__name__}")
        if type(command) in RULED_COMMANDS:
            rules.check_account_command(self, command, type(command) in ORDER_COMMAND_TYPES)
        # a 5-minute boundary passed: the state before this command is the state there (kept if it succeeds)
        measured = self.samples.measure(self, ts) if ts >= self.samples.next_at else None
        events = handler(command, ts)
        if measured is not None:
            self.samples.record(measured)
        if isinstance(command, Tick):  # timed events happen in Ticks (the sequencer journals one when one is due)
            delivery.roll(self, ts, events)  # dated futures listed, delivered, closed
            risk.settle_funding_until(self, ts, events)
        if self.trigger_uids:  # prices this command moved may fire conditional orders and TP/SL
            triggers.check_triggers(self, ts, events)
        self.last_ts = max(self.last_ts, ts)
        self.applied += 1
        return events

    def next_timed_check(self) -> int:
        """When the next timed event (a funding time, a dated future's listing, delivery or closing) is due: the
        sequencer journals a Tick for it before the first command at or after that time."""
        return min(self.next_funding_check, self.next_dated_check)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- reads ---------------------------------------------------------------------------------
    def account(self, uid: int) -> Account:
        acc = self.accounts.get(uid)
        if acc is None:
            raise ApiError(Code.ILLEGAL_USER_ID, f"uid {uid} does not exist")
        return acc

    def derivative(self, category: str, symbol: str) -> SymbolState:
        """A linear or inverse symbol named by a position setting (10001 otherwise)."""
        st = self.symbols.get((category, symbol))
        if st is None or category not in ("linear", "inverse"):
            raise ApiError(Code.PARAM_ERROR, f"symbol {symbol} does not exist in {category}")
        return st

    def account_labelled(self, label: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.label == label), None)

    def instruments_of(self, category: str) -> list[Instrument]:
        """A category's instruments: the data file's and the dated futures listed so far (delivered ones too)."""
        return [i for i in self.instruments.values() if i.category == category]

    def instrument(self, category: str, symbol: str) -> Instrument | None:
        return self.instruments.get((category, symbol))

    def coin_usd_price(self, coin: str) -> Decimal:
        c = self.coins.get(coin)
        return c.usd_price if c else Decimal(0)

    def money_check(self) -> dict[str, dict[str, int]]:
        """Per coin: deposits, withdrawals, wallets (UNIFIED and FUND), fees collected and the signed entry value of
        open positions. Money is conserved when wallets + fees + withdrawn - direction x entry == deposits (see
        core.positions)."""
        out: dict[str, dict[str, int]] = {}
        coins = set(self.deposits) | set(self.fees_collected) | {c for a in self.accounts.values() for c in a.balances}
        for coin in sorted(coins):
            out[coin] = {"deposits": self.deposits.get(coin, 0), "withdrawn": self.withdrawn.get(coin, 0),
                         "fees": self.fees_collected.get(coin, 0),
                         "wallets": sum(a.balance(coin) + a.funding.get(coin, 0) for a in self.accounts.values()),
                         "entry": 0}
        for account in self.accounts.values():
            for key, pos in account.positions.items():
                st = self.symbols[key[:2]]
                direction = -1 if st.grid.inverse else 1
                out.setdefault(st.inst.settle_coin, dict.fromkeys(("deposits", "withdrawn", "fees", "wallets", "entry"),
                                                                   0))
                out[st.inst.settle_coin]["entry"] += direction * pos.signed_entry()
        for row in out.values():
            row["conserved"] = int(row["wallets"] + row["fees"] + row["withdrawn"] - row["entry"] == row["deposits"])
        return out

    def digest(self) -> str:
        """A hash of the whole mutable state: equal digests mean equal states (replay == live)."""
        state = {
            "counters": [self.next_uid, self.next_key_id, self.order_seq, self.exec_seq, self.seq, self.last_ts,
                         self.applied, self.ledger_seq],
            "fees": sorted((c, str(v)) for c, v in self.fees_collected.items()),  # sums may pass 64 bits
            "deposits": sorted((c, str(v)) for c, v in self.deposits.items()),
            "withdrawn": sorted((c, str(v)) for c, v in self.withdrawn.items()),
            "asset_counters": [self.deposit_seq, self.withdraw_seq, self.transfer_seq],
            "symbols": [st.state() for _, st in sorted(self.symbols.items())],
            "market": None if self.sim is None else (self.sim.config, self.sim.state()),
            "dated": self.dated,
            "samples": self.samples.state(),
            "orders": [o.state() for _, o in sorted(self.orders.items())],
            "links": sorted(self.link_ids.items()),
            "accounts": [
                [a.uid, a.label, a.created_at, a.updated_at, sorted(a.balances.items()), a.margin_mode,
                 a.unified_margin_status, sorted(a.fee_rates.items()), sorted((c, h) for c, h in a.held.items() if h),
                 [p.state() for _, p in sorted(a.positions.items())], sorted(a.symbol_modes.items()),
                 sorted(a.coin_modes.items()), sorted(a.tpsl_modes.items()), sorted(a.rules.items()),
                 sorted(a.mmp.items()), a.upgrading_until, a.clamp_futures, a.clamp_spot,
                 sorted(a.open_orders),
                 sorted(a.conditionals), a.order_ids,
                 [e.state() for e in a.executions], sorted(a.active_count.items()),
                 sorted((k, v) for k, v in a.resting.items() if v), list(a.ledger),
                 sorted(a.funding.items()), a.parent_uid, a.username, a.member_type, a.remark, a.transfers,
                 a.deposit_log, a.withdrawals]
                for a in sorted(self.accounts.values(), key=lambda a: a.uid)
            ],
            "api_keys": [
                [k.id, k.api_key, k.uid, k.secret, k.rsa_public_key, k.read_only, sorted(k.permissions.items()),
                 k.ips, k.note, k.created_at]
                for k in sorted(self.api_keys.values(), key=lambda k: k.api_key)
            ],
        }
        # repr, not msgpack: exact inverse-price records (entry_inv, cum_inv) of big positions pass 64 bits
        return hashlib.sha256(repr(state).encode()).hexdigest()

    # -- command handlers ----------------------------------------------------------------------
    def _check_coin(self, coin: str) -> None:
        if coin not in self.coins:
            raise ApiError(Code.INVALID_COIN, coin)

    def _create_account(self, cmd: CreateAccount, ts: int) -> list[Event]:
        uid = self.next_uid if cmd.uid is None else cmd.uid
        if uid <= 0 or uid in self.accounts:
            raise ApiError(Code.ILLEGAL_USER_ID, f"uid {uid} is taken" if uid > 0 else f"uid {uid}")
        for coin, amount in cmd.balances.items():
            self._check_coin(coin)
            if not 0 <= amount <= MAX_AMOUNT:
                raise ApiError(Code.PARAM_ERROR, f"balance for {coin} out of range")
        if cmd.label and any(a.label == cmd.label for a in self.accounts.values()):
            raise ApiError(Code.PARAM_ERROR, f"an account labelled {cmd.label!r} exists")
        account = Account(uid=uid, created_at=ts, updated_at=ts, label=cmd.label,
                          unified_margin_status=1 if cmd.classic else 5)
        self.accounts[uid] = account
        self.next_uid = max(self.next_uid, uid + 1)
        events: list[Event] = [AccountCreated(uid=uid)]
        for coin, amount in sorted(cmd.balances.items()):
            if amount:
                account.balances[coin] = amount
                self.deposits[coin] = self.deposits.get(coin, 0) + amount
                events.append(BalanceChanged(uid=uid, coin=coin, change=amount, balance=amount,
                                             reason="deposit"))
                ledger.record(self, account, ts, "TRANSFER_IN", coin, cash_flow=amount)
        return events

    def _create_api_key(self, cmd: CreateApiKey, ts: int) -> list[Event]:
        self.account(cmd.uid)
        if cmd.api_key in self.api_keys:
            raise ApiError(Code.PARAM_ERROR, "apiKey already exists")
        if (cmd.secret is None) == (cmd.rsa_public_key is None):
            raise ApiError(Code.PARAM_ERROR, "a key needs exactly one of secret and rsaPublicKey")
        permissions = FULL_PERMISSIONS if cmd.permissions is None else cmd.permissions
        for group, perms in permissions.items():
            known = PERMISSION_GROUPS.get(group)
            if known is None or any(p not in known for p in perms):
                raise ApiError(Code.PARAM_ERROR, f"unknown permission in {group}")
        full = {g: list(permissions.get(g, [])) for g in PERMISSION_GROUPS}
        self.api_keys[cmd.api_key] = ApiKey(
            id=self.next_key_id, api_key=cmd.api_key, uid=cmd.uid, secret=cmd.secret, rsa_public_key=cmd.rsa_public_key,
            read_only=cmd.read_only, permissions=full, ips=list(cmd.ips) or ["*"], note=cmd.note,
            created_at=ts,
        )
        self.next_key_id += 1
        return [ApiKeyCreated(uid=cmd.uid, api_key=cmd.api_key)]

    def _set_prices(self, cmd: SetPrices, ts: int) -> list[Event]:
        st = self.symbols.get((cmd.category, cmd.symbol))
        if st is None:
            raise ApiError(Code.PARAM_ERROR, f"symbol {cmd.symbol} does not exist in {cmd.category}")
        if cmd.index is None and cmd.mark is None:
            raise ApiError(Code.PARAM_ERROR, "give indexPrice and/or markPrice")
        for value in (cmd.index, cmd.mark):
            if value is not None and not 0 < value <= 10**15:
                raise ApiError(Code.PARAM_ERROR, "prices must be positive")
        if cmd.index is not None:
            prices.set_index(st, cmd.index, ts)
        # Without a feed of its own, the mark follows the index unless a scenario sets it explicitly.
        events: list[Event] = []
        prices.set_mark(self, st, cmd.mark if cmd.mark is not None else st.index, ts, events)
        if cmd.index is not None and not st.inst.delivery_time:  # its dated futures share the index (and the
            for future in delivery.futures_of(self, st):  # delivery price averages it); their mark follows
                prices.set_index(future, cmd.index, ts)
                prices.set_mark(self, future, future.index, ts, events)
        return events

    def _set_account_rules(self, cmd: SetAccountRules, ts: int) -> list[Event]:
        account = self.account(cmd.uid)
        merged = rules.merge(account.rules, cmd.rules, rules.ACCOUNT_RULES, "account")  # types checked first
        if merged.get("status") not in (None, "frozen", "banned"):
            raise ApiError(Code.PARAM_ERROR, "status must be frozen or banned (null: normal)")
        if cmd.rules.get("skip_liquidation") and (any(p.size for p in account.positions.values())
                                                  or account.open_orders):
            raise ApiError(Code.SKIP_LIQUIDATION_NOT_ALLOWED)
        if any(":" in name for name in merged.get("reduce_only_symbols", ())):  # one side (SYMBOL:Buy)
            raise ApiError(Code.REDUCE_ONLY_BOTH_SIDES, "name the symbol, not one side of it")
        account.rules = merged
        account.updated_at = ts
        return []

    def _set_symbol_rules(self, cmd: SetSymbolRules, ts: int) -> list[Event]:
        st = self.symbols.get((cmd.category, cmd.symbol))
        if st is None:
            raise ApiError(Code.PARAM_ERROR, f"symbol {cmd.symbol} does not exist in {cmd.category}")
        st.rules = rules.merge(st.rules, cmd.rules, rules.SYMBOL_RULES, "symbol")
        return []

    def _set_mmp(self, cmd: SetMmp, ts: int) -> list[Event]:
        """Market maker protection is an institution's (account rule ``mmp_institution``): 110062 otherwise.
        paperex lists no options, whose fills MMP counts, so it is kept and shown but never trips."""
        account = self.account(cmd.uid)
        if not account.rules.get("mmp_institution"):
            raise ApiError(Code.NO_MMP_PROFILE)
        if cmd.base_coin not in self.coins:
            raise ApiError(Code.PARAM_ERROR, f"baseCoin {cmd.base_coin} is not a coin")
        if cmd.reset:
            if cmd.base_coin not in account.mmp:
                raise ApiError(Code.NO_MMP_PROFILE, f"no MMP set for {cmd.base_coin}")
            account.mmp[cmd.base_coin]["frozen_until"] = 0
            return []
        account.mmp[cmd.base_coin] = {"window": cmd.window, "frozen_period": cmd.frozen_period,
                                      "qty_limit": cmd.qty_limit, "delta_limit": cmd.delta_limit,
                                      "vega_limit": cmd.vega_limit, "frozen_until": 0}
        account.updated_at = ts
        return []

    def _set_limit_price_action(self, cmd: SetLimitPriceAction, ts: int) -> list[Event]:
        account = self.account(cmd.uid)
        if cmd.category not in ("linear", "inverse", "spot"):
            raise ApiError(Code.PARAM_ERROR, "category only support linear, inverse or spot")
        if cmd.category == "spot":
            account.clamp_spot = cmd.modify_enable
        else:  # Bybit: linear or inverse sets the behaviour of all futures
            account.clamp_futures = cmd.modify_enable
        account.updated_at = ts
        return []
