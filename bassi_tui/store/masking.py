"""Masking the secrets notification channel URLs carry, for anything a person may read.

Apprise URLs hold their secrets everywhere: a password (``mailto://me:pw@gmail.com``), a token
in the path (``json://host/hook/TOKEN``), in the query (``?token=...``), even in the host slot
(``slack://TokenA/TokenB/TokenC``, ``tgram://bottoken/chat``). :func:`mask_url` keeps only what
is needed to recognise a channel: the scheme, and the host and port when they *look like* a
host name or address (a domain with a letters-only top-level label, an IP address,
``localhost``); everything else becomes ``***``. Being unsure means masking.

:func:`mask_secrets` is for free text, such as an error message a delivery library wrote: it
replaces every given secret, and each URL's secret parts, wherever they occur.

Neither function raises, whatever the input: a malformed URL is masked whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = ["MASK", "MIN_SECRET_CHARS", "mask_secrets", "mask_url", "url_secrets"]

MASK = "***"
"""What stands in for a hidden part."""

MIN_SECRET_CHARS = 4
"""URL parts shorter than this are not searched for in free text: a two-letter user name or a
path segment like ``v1`` would blank ordinary words out of every message. Whole URLs and
explicitly given secrets are always masked, whatever their length."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}")
_PORT = re.compile(r"[0-9]{1,5}")
_HOST = re.compile(
    r"localhost"
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"  # IPv4
    r"|\[[0-9A-Fa-f:.]{2,45}\]"  # IPv6 literal
    # A domain: DNS labels, and a top-level label of letters only, so a token (which mostly
    # has digits in every part) is not mistaken for one.
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}",
)
_QUERY_KEY = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def _split(url: str) -> tuple[str, str, str, str, str, str, str] | None:
    """(scheme, userinfo, host, port, path, query, fragment), or None when not scheme://...

    ``userinfo`` keeps its ``@`` so "empty" and "absent" differ. Done by hand rather than with
    urllib: Apprise URLs are not all valid URLs (``tgram://123:ABC/chat`` has no numeric port),
    and urllib raises on some of them.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return None
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    authority, _, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # [v6]:port
        end = hostport.find("]")
        if end != -1 and hostport[end + 1 : end + 2] == ":":
            host, port = hostport[: end + 1], hostport[end + 2 :]
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    return scheme, userinfo + at, host, port, path, query, fragment


def _host_shown(host: str, port: str) -> bool:
    return bool(_HOST.fullmatch(host)) and (not port or bool(_PORT.fullmatch(port)))


def mask_url(url: str) -> str:
    """``url`` with everything that may be secret replaced by ``***``.

    >>> mask_url("ntfy://ntfy.sh/my-topic")
    'ntfy://ntfy.sh/***'
    >>> mask_url("mailto://me:pw@gmail.com")
    'mailto://***@gmail.com'
    >>> mask_url("slack://TokenA/TokenB/TokenC")
    'slack://***'
    >>> mask_url("json://127.0.0.1:8123/hook?token=abc&mode=x")
    'json://127.0.0.1:8123/***?token=***&mode=***'
    """
    try:
        parts = _split(url)
    except Exception:  # never raise on odd input: mask it whole
        parts = None
    if parts is None:
        return MASK
    scheme, userinfo, host, port, path, query, fragment = parts
    if not _host_shown(host, port):
        # The "host" is likely a token (slack://T/B/C): nothing past the scheme is safe.
        return f"{scheme}://{MASK}"
    text = f"{scheme}://"
    if userinfo:
        text += f"{MASK}@"
    text += host + (f":{port}" if port else "")
    if path.strip("/"):
        text += f"/{MASK}"
    if query:
        # A key is shown only when it has a value: a bare `?abc123` may be a token itself.
        pairs = [pair.partition("=") for pair in query.split("&") if pair]
        shown = [f"{k}={MASK}" if eq and _QUERY_KEY.fullmatch(k) else MASK for k, eq, _ in pairs]
        text += "?" + "&".join(shown)
    if fragment:
        text += f"#{MASK}"
    return text


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that may be secret: the URL itself, user, password, a host that is
    not shown by :func:`mask_url`, path segments, query values and the fragment, each also
    percent-decoded (error messages often show the decoded form)."""
    found = [url]
    try:
        parts = _split(url)
    except Exception:
        parts = None
    if parts is None:
        return found
    _, userinfo, host, port, path, query, fragment = parts
    userinfo = userinfo.removesuffix("@")
    user, _, password = userinfo.partition(":")
    pieces = [userinfo, user, password, path, query, fragment]
    if not _host_shown(host, port):
        pieces += [host, port]
    pieces += path.split("/")
    for pair in query.split("&"):
        pieces.append(pair.partition("=")[2])
    for piece in pieces:
        for form in (piece, _unquote(piece)):
            if len(form) >= MIN_SECRET_CHARS and form not in found:
                found.append(form)
    return found


def _unquote(text: str) -> str:
    try:
        return unquote(text)
    except Exception:  # unquote is lenient, but never let masking raise
        return text


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``.

    A secret that looks like a URL (has ``://``) brings its secret parts too (see
    :func:`url_secrets`), so ``mask_secrets(error, [channel.url])`` is enough. Longer secrets are
    replaced first, so a URL is masked whole rather than piece by piece.
    """
    wanted: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        wanted.add(secret)
        if "://" in secret:
            wanted.update(url_secrets(secret))
    if not wanted or not text:
        return text
    pattern = "|".join(re.escape(s) for s in sorted(wanted, key=len, reverse=True))
    return re.sub(pattern, MASK, text)
