"""Apprise, loaded only when a task names a URL channel, and URL checks cached per URL.

Importing Apprise and loading its plugin registry costs about 0.3 s (measured: ~0.14 s import,
~0.2 s for the registry of 200+ services, then ~1 ms a URL). Task folders are read at start-up,
thousands of them in well under a second, so nothing here runs unless a ``notify.channels``
entry is a URL, and each distinct URL string is checked once per process.

Apprise's own logger is made quiet here, when it is first loaded: its lines can carry parts of
URLs and would otherwise reach the app's log through the root logger. The sender captures them
per delivery instead and reports them masked (see :mod:`bassi_tui.notify.send`).
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from typing import Any

from bassi_tui.store.inert import inert
from bassi_tui.store.masking import mask_secrets, mask_url
from bassi_tui.store.parse_common import close_match

__all__ = ["check_url", "load_apprise"]

_lock = threading.Lock()
_apprise: Any = None


def load_apprise() -> Any:
    """The ``apprise`` module, imported on first use, its logger kept out of the app's log.

    Typed ``Any``: Apprise's annotations are partial, and only a few calls are made through it.
    """
    global _apprise
    with _lock:  # parsing may happen in threads; import and logger set-up once
        if _apprise is None:
            with warnings.catch_warnings():
                # Apprise 1.x imports imghdr, deprecated since 3.11: not the user's concern.
                warnings.simplefilter("ignore", DeprecationWarning)
                import apprise

                module: Any = apprise  # called through Any: its annotations are partial
                # Load the plugin registry now (it is lazy), under the same filter.
                module.manager_plugins.NotificationManager().load_modules()

            quiet = logging.getLogger(module.LOGGER_NAME)
            quiet.propagate = False
            quiet.addHandler(logging.NullHandler())  # no "last resort" lines on stderr either
            # DEBUG: a failed delivery's best reason ("Socket Exception: Read timed out") is a
            # debug line; only the sender's per-delivery handler ever sees these records.
            quiet.setLevel(logging.DEBUG)
            # requests' pool logs request lines, paths (tokens) included, at DEBUG; a verbose
            # app log must not get them. Only when nobody chose a level for it.
            pool = logging.getLogger("urllib3")
            if pool.level == logging.NOTSET:
                pool.setLevel(logging.WARNING)
            _apprise = module
        return _apprise


def _cut(text: str, limit: int = 200) -> str:
    text = inert(text.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.lru_cache(maxsize=4096)
def check_url(url: str) -> str | None:
    """Why Apprise cannot use ``url``, or None when it can. The reason never holds a secret.

    Only parses (Apprise instantiates the service's plugin): nothing is sent, no network.
    """
    try:
        return _check(url)
    except Exception as exc:  # a plugin bug must not break reading a task folder
        return f"Apprise could not read it ({_cut(mask_secrets(str(exc), [url]))})"


def _check(url: str) -> str | None:
    apprise = load_apprise()
    registry = apprise.manager_plugins.NotificationManager()  # a singleton, loaded once
    scheme = url.partition("://")[0].lower()
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
    except Exception as exc:
        # Plugins raise TypeError with the reason ("Invalid ntfy topic"); it may quote a token.
        service = registry[scheme].service_name if scheme in registry else scheme
        return f"not a valid {service} URL: {_cut(mask_secrets(str(exc), [url]))}"
    if plugin is not None:
        return None
    if scheme in ("http", "https"):
        # Apprise takes some services' own https URLs (Discord, Slack webhooks); not this one.
        return (
            f"{scheme}:// is not a service Apprise recognises here; for a webhook use "
            "json://host/path (jsons:// for https), or the service's own scheme"
        )
    if scheme not in registry:
        close = close_match(scheme, registry.schemas())
        hint = f" (did you mean '{close}://'?)" if close else ""
        return f"unknown scheme '{_cut(scheme, 40)}://'{hint}; see Apprise's list of services"
    service = registry[scheme]
    if not service.enabled:
        return f"{scheme}:// ({service.service_name}) is not available on this system"
    return f"not a valid {service.service_name} URL ({mask_url(url)})"
