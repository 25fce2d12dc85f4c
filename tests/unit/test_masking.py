"""Masking channel URLs: people recognise the channel, nobody sees its secret."""

from __future__ import annotations

import random
import string

import pytest

from bassi_tui.store.masking import mask_secrets, mask_url, url_secrets
from bassi_tui.store.models import NotifyChannel


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("ntfy://ntfy.sh/my-secret-topic", "ntfy://ntfy.sh/***"),
        ("json://127.0.0.1:8123/hook/TOKEN123", "json://127.0.0.1:8123/***"),
        ("json://127.0.0.1:8123", "json://127.0.0.1:8123"),
        ("json://127.0.0.1:8123/", "json://127.0.0.1:8123"),
        ("slack://TokenA/TokenB/TokenC", "slack://***"),
        ("mailto://me:app-password@gmail.com", "mailto://***@gmail.com"),
        ("mailto://me@gmail.com", "mailto://***@gmail.com"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/4567", "tgram://***"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://***"),
        ("pover://user@token", "pover://***"),
        (
            "gotify://push.example.org/AbCdEf?priority=8",
            "gotify://push.example.org/***?priority=***",
        ),
        ("json://localhost:80/x?token=abc&mode=x", "json://localhost:80/***?token=***&mode=***"),
        ("jsons://[::1]:8443/hook", "jsons://[::1]:8443/***"),
        ("json://host.example.com:99999999/x", "json://***"),  # not a port: maybe a token
        ("json://example.com/x#frag", "json://example.com/***#***"),
        ("json://example.com/?sk-ant-123", "json://example.com?***"),
        ("https://discord.com/api/webhooks/1/tok", "https://discord.com/***"),
        ("eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMe://x", "***"),  # not a scheme at all
        ("no-scheme-token-abc123", "***"),
        ("", "***"),
        ("://", "***"),
        ("json://", "json://***"),
        ("json://\x1b]0;evil\x07/x", "json://***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_a_secret_in_the_password_slot_never_leaks_even_with_odd_characters() -> None:
    for url in (
        "mailto://me:pa/ss@gmail.com",
        "mailto://me:pa?ss@gmail.com",
        "mailto://me:pa#ss@gmail.com",
        "mailto://me:p@ss@gmail.com",
    ):
        shown = mask_url(url)
        assert "pa" not in shown.replace("***", "") and "ss" not in shown, (url, shown)


def test_mask_url_never_raises_on_garbage() -> None:
    rng = random.Random(7)
    alphabet = string.printable + "\x00\x1b\u2028[]@:/?#%"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for url in (text, "json://" + text):
            shown = mask_url(url)
            assert shown.isprintable()
            mask_secrets("error: " + text, [url])
            url_secrets(url)


def test_url_secrets_has_the_parts_and_their_decoded_forms() -> None:
    found = url_secrets("mailto://alice:p%40ssw0rd@gmail.com/extra?token=tok123456")
    for part in ("p%40ssw0rd", "p@ssw0rd", "tok123456", "alice", "extra"):
        assert part in found
    assert "gmail.com" not in found  # shown in the label: not a secret


def test_mask_secrets_masks_url_and_every_secret_part() -> None:
    url = "json://user:hunter2hunter@127.0.0.1:8123/hook/TOKEN-9f8e7d?key=K3Y-VALUE"
    text = (
        f"failed {url}; auth user:hunter2hunter; POST /hook/TOKEN-9f8e7d?key=K3Y-VALUE; "
        "decoded hunter2hunter; connecting to 127.0.0.1:8123"
    )
    masked = mask_secrets(text, [url])
    for secret in ("hunter2hunter", "TOKEN-9f8e7d", "K3Y-VALUE"):
        assert secret not in masked
    assert "127.0.0.1" in masked  # the host stays: it says where


def test_mask_secrets_takes_plain_secrets_and_leaves_short_url_parts() -> None:
    assert mask_secrets("the key sk-abc is bad", ["sk-abc"]) == "the key *** is bad"
    # `v1` is a path segment of the URL but too short to hunt for in free text.
    assert mask_secrets("api v1 down", ["json://example.com/v1"]) == "api v1 down"
    assert mask_secrets("nothing here", []) == "nothing here"
    assert mask_secrets("", ["x://y"]) == ""


def test_channel_label_and_repr_are_masked() -> None:
    channel = NotifyChannel("apprise", url="ntfy://user:S3cretPass@ntfy.sh/private-topic")
    for shown in (channel.label(), repr(channel), str(channel)):
        assert "S3cretPass" not in shown and "private-topic" not in shown
        assert "ntfy.sh" in shown
    command = NotifyChannel("command", command=("/usr/bin/notify", "--token", "T0KEN-abc"))
    assert "T0KEN" not in repr(command) and command.label() == "command /usr/bin/notify"
