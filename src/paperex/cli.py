"""``paperex`` command line: serve, account create, key create, deposit.

``account``/``key``/``deposit`` talk to a running server's admin API (``--url``); with no server
running they apply the command directly to ``--data-dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from paperex.errors import ApiError


def _balances(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        coin, _, amount = item.partition("=")
        if not coin or not amount:
            raise SystemExit(f"--balance takes COIN=AMOUNT, got {item!r}")
        out[coin.upper()] = amount
    return out


ADMIN_TOKEN_ENV = "PAPEREX_ADMIN_TOKEN"


def admin_token(args: argparse.Namespace) -> str | None:
    """The admin token from --admin-token or the environment; an empty one would silently turn the check off."""
    token = args.admin_token if args.admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV)
    if token is not None and not token.strip():
        raise SystemExit(f"paperex: the admin token must not be empty (--admin-token / ${ADMIN_TOKEN_ENV})")
    return token


# `paperex serve` options that can come from the environment (a container's `-e`, a compose file, a CI
# `services:` entry): a flag on the command line wins, then the variable, then the default.
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def env_flag(name: str) -> bool:
    value = os.environ.get(name)
    if value is None:
        return False
    if value.strip().lower() in TRUE_WORDS:
        return True
    if value.strip().lower() in FALSE_WORDS:
        return False
    raise SystemExit(f"paperex: ${name} must be one of {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS[:-1])}, "
                     f"got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"paperex: ${name} must be a whole number, got {value!r}") from None


def _setting(given: Any, name: str, default: Any) -> Any:
    """A string option: the flag, else $name (when not empty), else the default."""
    if given is not None:
        return given
    value = os.environ.get(name, "").strip()
    return value or default


def _flag(given: bool | None, name: str) -> bool:
    return True if given else env_flag(name)


def _admin_http(url: str, token: str | None, path: str, body: dict[str, Any],
                ca: Path | None = None) -> dict[str, Any] | None:
    """POST to a running server's admin API; None when no server answers at ``url``. An https URL is checked
    against ``ca`` (a ``--tls`` server's local CA) or the system's roots."""
    req = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("X-Admin-Token", token)
    context = ssl.create_default_context(cafile=str(ca) if ca else None) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            reply = json.loads(resp.read())
    except urllib.error.URLError as exc:
        if isinstance(exc, urllib.error.HTTPError):
            raise SystemExit(f"admin API refused: HTTP {exc.code} {exc.read().decode(errors='replace')}") from None
        if isinstance(exc.reason, ssl.SSLError):  # a server is there: never fall back to the data dir
            raise SystemExit(f"paperex: TLS to {url} failed ({exc.reason}); trust its CA with --ca FILE "
                             "(a --tls server prints its path)") from None
        return None
    if reply.get("retCode") != 0:
        raise SystemExit(f"error {reply.get('retCode')}: {reply.get('retMsg')}")
    return reply["result"]


async def _offline(data_dir: Path, path: str, body: dict[str, Any]) -> dict[str, Any]:
    from paperex.admin import api
    from paperex.journal.lock import DataDirBusy
    from paperex.server import Node

    try:
        node = Node(data_dir)
    except DataDirBusy:
        raise SystemExit(f"a paperex server is using {data_dir}; point --url at it") from None
    handlers = {"/admin/v1/accounts": api.create_account, "/admin/v1/api-keys": api.create_api_key,
                "/admin/v1/deposit": api.deposit}
    node.start()
    try:
        return await handlers[path](body, node.admin)
    except ApiError as err:
        raise SystemExit(f"error {err.code}: {err.msg}") from None
    finally:
        await node.close()


def _client_ca(args: argparse.Namespace) -> Path | None:
    """--ca, else the local CA of --data-dir when a --tls server made one there."""
    if args.ca:
        return Path(args.ca)
    local = Path(args.data_dir) / "tls" / "ca.pem"
    return local if local.exists() else None


def admin_call(args: argparse.Namespace, path: str, body: dict[str, Any]) -> dict[str, Any]:
    result = _admin_http(args.url, admin_token(args), path, body, _client_ca(args))
    if result is None:
        result = asyncio.run(_offline(Path(args.data_dir), path, body))
    return result


def run_event_loop(main: Any) -> None:
    """Run the server on uvloop where it is available (it is a dependency on Linux and macOS)."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows
        asyncio.run(main)
        return
    uvloop.run(main)


def serve_options(args: argparse.Namespace) -> Any:
    """`paperex serve`'s options from its flags and, for those not given, the PAPEREX_* environment."""
    from paperex.server import DEFAULT_SNAPSHOT_EVERY, ServeOptions

    port = args.port if args.port is not None else env_int("PAPEREX_PORT", 8080)
    snapshot_every = (args.snapshot_every if args.snapshot_every is not None
                      else env_int("PAPEREX_SNAPSHOT_EVERY", DEFAULT_SNAPSHOT_EVERY))
    names = args.tls_name if args.tls_name else [
        n for n in os.environ.get("PAPEREX_TLS_NAMES", "").replace(" ", ",").split(",") if n]
    cert, key = _setting(args.tls_cert, "PAPEREX_TLS_CERT", None), _setting(args.tls_key, "PAPEREX_TLS_KEY", None)
    if (cert is None) != (key is None):
        raise SystemExit("paperex: --tls-cert and --tls-key go together ($PAPEREX_TLS_CERT, $PAPEREX_TLS_KEY)")
    return ServeOptions(
        host=_setting(args.host, "PAPEREX_HOST", "127.0.0.1"), port=port,
        data_dir=Path(_setting(args.data_dir, "PAPEREX_DATA_DIR", "./paperex-data")),
        demo=not _flag(args.no_demo, "PAPEREX_NO_DEMO"), admin_token=admin_token(args),
        admin_remote=_flag(args.admin_remote, "PAPEREX_ADMIN_REMOTE"),
        journal=_setting(args.journal, "PAPEREX_JOURNAL", None), snapshot_every=snapshot_every,
        market=not _flag(args.no_market, "PAPEREX_NO_MARKET"),
        tls=_flag(args.tls, "PAPEREX_TLS") or cert is not None,
        tls_cert=Path(cert) if cert else None, tls_key=Path(key) if key else None, tls_names=tuple(names))


def cmd_serve(args: argparse.Namespace) -> None:
    from paperex.server import serve

    os.umask(0o077)  # the data dir holds API secrets: what the server creates is its user's alone (0700 / 0600)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from paperex.config import ConfigError, load
    from paperex.journal.lock import DataDirBusy
    from paperex.journal.store import JournalError

    options = serve_options(args)
    config_file = _setting(args.config, "PAPEREX_CONFIG", None)
    try:
        options.config = load(Path(config_file)) if config_file else None
    except ConfigError as exc:
        raise SystemExit(f"paperex: {exc}") from None
    try:
        run_event_loop(serve(options))
    except (DataDirBusy, JournalError, ValueError, OSError) as exc:  # bad data files, unknown symbols, ...
        raise SystemExit(f"paperex: {exc}") from None


def cmd_account_create(args: argparse.Namespace) -> None:
    result = admin_call(args, "/admin/v1/accounts", {"balances": _balances(args.balance or [])})
    print(result["uid"])


def cmd_key_create(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"uid": args.uid, "readOnly": 1 if args.read_only else 0, "ips": args.ip or ["*"]}
    if args.permissions:
        body["permissions"] = json.loads(args.permissions)
    if args.rsa_public_key:
        body["rsaPublicKey"] = Path(args.rsa_public_key).read_text()
    result = admin_call(args, "/admin/v1/api-keys", body)
    print(f"apiKey: {result['apiKey']}")
    if "apiSecret" in result:
        print(f"apiSecret: {result['apiSecret']}")


def cmd_deposit(args: argparse.Namespace) -> None:
    result = admin_call(args, "/admin/v1/deposit", {"uid": args.uid, "coin": args.coin, "amount": args.amount,
                                                    "accountType": args.account_type})
    print(f"{result['coin']} balance: {result['balance']}")


def _open_store(args: argparse.Namespace):
    from paperex.journal.lock import DataDirBusy, DataDirLock
    from paperex.server import open_journal

    try:
        lock = DataDirLock(Path(args.data_dir))
    except DataDirBusy:
        raise SystemExit(f"a paperex server is using {args.data_dir}; stop it first") from None
    return lock, open_journal(Path(args.data_dir), args.journal)


def _with_store(args: argparse.Namespace, work: Any) -> int:
    """Run ``work(store)`` on the data dir's journal, holding the data dir's lock."""
    from paperex.journal.store import JournalError

    lock, store = _open_store(args)
    try:
        return work(store)
    except JournalError as exc:
        raise SystemExit(f"paperex: {exc}") from None
    finally:
        store.close()
        lock.release()


def cmd_export(args: argparse.Namespace) -> None:
    from paperex.journal.export import export_journal
    from paperex.journal.lock import DataDirBusy, DataDirLock
    from paperex.journal.sqlite import SqliteReader
    from paperex.journal.store import JournalError
    from paperex.server import JOURNAL_FILE

    if args.journal is None:  # SQLite: a running server's journal can be read beside it, consistently
        try:
            DataDirLock(Path(args.data_dir)).release()
        except DataDirBusy:
            try:
                reader = SqliteReader(Path(args.data_dir) / JOURNAL_FILE)
                try:
                    count = export_journal(reader, Path(args.out))  # type: ignore[arg-type]
                finally:
                    reader.close()
            except JournalError as exc:
                raise SystemExit(f"paperex: {exc}") from None
            print(f"exported {count} journaled commands to {args.out} from the running server's journal "
                  "(everything durable when the export began)")
            return
    count = _with_store(args, lambda store: export_journal(store, Path(args.out)))
    print(f"exported {count} journaled commands to {args.out}")


def cmd_import(args: argparse.Namespace) -> None:
    from paperex.journal.export import import_journal

    count = _with_store(args, lambda store: import_journal(Path(args.input), store))
    print(f"imported {count} journaled commands; `paperex serve` will replay them on start")


def _client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default="http://127.0.0.1:8080", help="a running server (admin API)")
    p.add_argument("--admin-token", default=None, help=f"default: ${ADMIN_TOKEN_ENV}")
    p.add_argument("--data-dir", default="./paperex-data", help="used when no server is running")
    p.add_argument("--ca", default=None, metavar="FILE",
                   help="the CA to trust for an https --url (default: DATA_DIR/tls/ca.pem when it exists)")


SERVE_ENV_HELP = f"""environment (used when the flag is not given; a flag always wins):
  PAPEREX_HOST, PAPEREX_PORT, PAPEREX_DATA_DIR, PAPEREX_CONFIG, PAPEREX_JOURNAL, PAPEREX_SNAPSHOT_EVERY,
  {ADMIN_TOKEN_ENV}, PAPEREX_TLS_CERT, PAPEREX_TLS_KEY, PAPEREX_TLS_NAMES (comma-separated): values;
  PAPEREX_NO_DEMO, PAPEREX_NO_MARKET, PAPEREX_ADMIN_REMOTE, PAPEREX_TLS: 1/true/yes/on or 0/false/no/off.
The container image sets PAPEREX_HOST=0.0.0.0, PAPEREX_PORT=8080 and PAPEREX_DATA_DIR=/data (docs/container.md)."""


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="paperex", description="A local exchange that speaks the Bybit V5 API.")
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the exchange", formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=SERVE_ENV_HELP)
    s.add_argument("--host", default=None, help="the address to listen on (default 127.0.0.1; $PAPEREX_HOST)")
    s.add_argument("--port", type=int, default=None, help="default 8080 ($PAPEREX_PORT)")
    s.add_argument("--data-dir", default=None, help="default ./paperex-data ($PAPEREX_DATA_DIR)")
    s.add_argument("--no-demo", action="store_true", default=None,
                   help="do not create the demo account and key ($PAPEREX_NO_DEMO=1)")
    s.add_argument("--admin-token", default=None,
                   help=f"require X-Admin-Token on /admin/v1 (default: ${ADMIN_TOKEN_ENV}, which keeps it out of "
                        "the process list)")
    s.add_argument("--admin-remote", action="store_true", default=None,
                   help="answer the admin API from other hosts too (a container's published port, a compose "
                        "network); requires the admin token ($PAPEREX_ADMIN_REMOTE=1). Without it only loopback "
                        "clients reach /admin/v1")
    s.add_argument("--journal", default=None, metavar="URL",
                   help="postgresql://user@host/db for a shared journal, or 'memory' to keep nothing "
                        "(default: SQLite in --data-dir; $PAPEREX_JOURNAL)")
    s.add_argument("--config", default=None, metavar="FILE", help="a TOML file scripting the exchange "
                   "(clock, the market's past, symbols and feeds, liquidity and takers, accounts and keys): "
                   "docs/configuration.md ($PAPEREX_CONFIG)")
    s.add_argument("--no-market", action="store_true", default=None,
                   help="no living market: no past, no price moves, no liquidity provider, no background "
                        "takers (prices stand still and the books start empty; $PAPEREX_NO_MARKET=1)")
    s.add_argument("--snapshot-every", type=int, default=None, metavar="N",
                   help="snapshot the state every N commands (a market step counts as the order operations it "
                        "made; 0: only on clean shutdown; default 100000, $PAPEREX_SNAPSHOT_EVERY)")
    s.add_argument("--tls", action="store_true", default=None,
                   help="serve HTTPS and WSS (same port) with a certificate from a local CA made once in "
                        "DATA_DIR/tls (for localhost, 127.0.0.1, ::1 and --host); its path is printed for "
                        "clients to trust ($PAPEREX_TLS=1)")
    s.add_argument("--tls-name", action="append", metavar="NAME",
                   help="another name (or address) for the local CA's certificate, e.g. a compose service "
                        "(repeatable; $PAPEREX_TLS_NAMES=a,b)")
    s.add_argument("--tls-cert", default=None, metavar="FILE",
                   help="your own certificate (PEM, chain allowed) instead of the local CA; implies --tls "
                        "($PAPEREX_TLS_CERT)")
    s.add_argument("--tls-key", default=None, metavar="FILE", help="its private key (PEM; $PAPEREX_TLS_KEY)")
    s.set_defaults(func=cmd_serve)

    acc = sub.add_parser("account", help="accounts").add_subparsers(dest="action", required=True)
    ac = acc.add_parser("create", help="create an account; prints its uid")
    ac.add_argument("--balance", action="append", metavar="COIN=AMOUNT")
    _client_options(ac)
    ac.set_defaults(func=cmd_account_create)

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    kc = key.add_parser("create", help="create an API key; prints apiKey and apiSecret")
    kc.add_argument("--uid", required=True)
    kc.add_argument("--read-only", action="store_true")
    kc.add_argument("--ip", action="append", help="bind the key to this IP (repeatable)")
    kc.add_argument("--rsa-public-key", metavar="FILE", help="a self-generated RSA key (PEM public key)")
    kc.add_argument("--permissions", metavar="JSON", help='e.g. {"ContractTrade": ["Order"]}')
    _client_options(kc)
    kc.set_defaults(func=cmd_key_create)

    dep = sub.add_parser("deposit", help="credit a coin to an account")
    dep.add_argument("--uid", required=True)
    dep.add_argument("--coin", required=True)
    dep.add_argument("--amount", required=True)
    dep.add_argument("--account-type", default="UNIFIED", choices=("UNIFIED", "FUND"),
                     help="the wallet it lands in (default UNIFIED, the trading wallet)")
    _client_options(dep)
    dep.set_defaults(func=cmd_deposit)

    exp = sub.add_parser("export", help="write the journal of a data dir to one portable file")
    exp.add_argument("--data-dir", default="./paperex-data")
    exp.add_argument("--journal", default=None, metavar="URL", help="a postgresql:// journal instead of SQLite")
    exp.add_argument("--out", required=True, metavar="FILE")
    exp.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="load an export into a new data dir (or an empty journal database)")
    imp.add_argument("--in", dest="input", required=True, metavar="FILE")
    imp.add_argument("--data-dir", default="./paperex-data")
    imp.add_argument("--journal", default=None, metavar="URL", help="a postgresql:// journal instead of SQLite")
    imp.set_defaults(func=cmd_import)
    return ap


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
