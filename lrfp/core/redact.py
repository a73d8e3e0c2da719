"""What a page, a table or a log may show of a stream's URL or a server's path.

A camera's URL often carries its secrets: `rtsp://admin:PASSWORD@host/stream`,
`http://host/gate.mjpg?token=T`. mask_url keeps what names the camera (scheme, host, port, path) and
masks the rest: the user and password, every query value and the fragment. Only the process that
reads the stream holds the real URL; every table, status file, message and log line gets the masked
one, and exceptions that echo the URL (FFmpeg's, urllib's) go through without_secrets.

A public page names a server's file relative to a folder it may show (a run's inputs, weights/):
relative_name; without_paths cuts the folders off any other absolute path in a message.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

SECRET = "***"
# a URL in a message: a scheme, ://, then anything up to a space or a quote
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")
# the folders of an absolute path in a message (not a URL's //host/ nor a fraction such as 5/10)
FOLDERS_IN_TEXT = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`]+/)+(?=[^\s/'\"`])")
SHORTEST_SECRET = 3  # a shorter secret is masked inside URLs only: replacing "ab" everywhere mangles the text


def _split(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, user info, the rest up to the query, query and fragment) of URL; None without "://".

    The user info ends at the last @ before the query, not at the first /: a password holding an
    unescaped / (which urllib would read as the path) stays masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:end], rest[end:]
    userinfo, at, place = head.rpartition("@")
    return f"{scheme}://", userinfo if at else "", place, tail


def _masked_tail(tail: str) -> str:
    """A URL's ?query#fragment with every value masked, the names of the query's fields kept."""
    query, hashmark, _ = tail.partition("#")
    fields = (f.partition("=") for f in query.removeprefix("?").split("&"))
    masked = "&".join(f"{name}={SECRET}" if eq else (SECRET if name else "") for name, eq, _ in fields)
    return (f"?{masked}" if query else "") + (f"#{SECRET}" if hashmark else "")


def mask_url(url: str) -> str:
    """URL with its user, password, query values and fragment masked:
    `http://admin:pw@host/gate.mjpg?token=T` -> `http://***@host/gate.mjpg?token=***`. A text without
    "://" (a camera device, /dev/video0) is returned as it is."""
    parts = _split(url)
    if parts is None:
        return url
    scheme, userinfo, place, tail = parts
    return f"{scheme}{f'{SECRET}@' if userinfo else ''}{place}{_masked_tail(tail) if tail else ''}"


def mask_urls(text: str) -> str:
    """TEXT with every URL in it masked (mask_url)."""
    return URL_IN_TEXT.sub(lambda found: mask_url(found.group()), text) if "://" in text else text


def _secrets(url: str) -> list[str]:
    """The secret parts of URL (user, password, query values, fragment), as written and decoded, longest first."""
    parts = _split(url)
    if parts is None:
        return []
    _, userinfo, _, tail = parts
    query, _, fragment = tail.partition("#")
    values = [value or name for name, _, value in (f.partition("=") for f in query.removeprefix("?").split("&"))]
    found = [*userinfo.split(":", 1), *values, fragment]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if len(s) >= SHORTEST_SECRET and s != SECRET}, key=len, reverse=True)


def without_secrets(text: str, url: str) -> str:
    """TEXT (an error about the stream URL, say) with URL and any URL masked, and the URL's secrets
    masked wherever they appear on their own (an FFmpeg message may quote the password decoded)."""
    text = mask_urls(text.replace(url, mask_url(url)))
    for secret in _secrets(url):
        text = text.replace(secret, SECRET)
    return text


def relative_name(path: str | Path, bases: list[Path]) -> str:
    """PATH named from the folder above the first of BASES that holds it (bases/cams/a.mp4 -> cams/a.mp4;
    a base that is the file itself: its name); a path under none of them: its name alone."""
    path = Path(path)
    for base in bases:
        if path == base or path.is_relative_to(base):
            return str(path.relative_to(base.parent)) if base.parent != base else path.name
    return path.name


def without_paths(text: str, named: dict[str, str] | None = None) -> str:
    """TEXT with each path of NAMED replaced by its name, and the folders of any other absolute path cut
    off (`/srv/cams/north/a.mp4: corrupt` -> `a.mp4: corrupt`); URLs are left to mask_urls."""
    for path, name in sorted((named or {}).items(), key=lambda item: len(item[0]), reverse=True):
        text = text.replace(path, name)
    return FOLDERS_IN_TEXT.sub("", text)
