"""Text from inputs shown as text: camera, folder, file and model names and error messages go into a page's
markdown (captions, messages, labels) through plain(), never as they are.

Streamlit renders its captions, messages, image captions and labels as markdown, and has no escaping
function of its own: a camera named `![b](http://host/x.png)` would make every viewer's browser fetch that
image, `[here](http://...)` would be a link, `$...$` a formula. CommonMark lets a backslash escape any
ASCII punctuation, so each character markdown (or Streamlit's `:red[...]` and `:icon:` forms) gives a
meaning to is escaped; line breaks, which start blocks (headings, lists, code), become spaces.

Escapes do not stop a link, though: GitHub's markdown (Streamlit's) finds "www.", "http://", "https://" and
e-mail addresses in the text once the escapes are read, so an upload named `www.example.com.png` became a link.
An invisible word joiner inside each of them ("www" and ".", "http:" and "//", after "@") leaves the name as it
reads, with no link.
"""

from __future__ import annotations

import re

from lrfp.core.redact import mask_urls, without_paths

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")
WORD_JOINER = "\u2060"  # no width, no line break beside it
# where markdown's links found in plain text begin: a word joiner there leaves the text no link
AUTOLINKS = re.compile(r"(?i)(?<=www)(?=\.)|(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=@)")


def plain(text: object) -> str:
    """TEXT (any value, as str() writes it) escaped so that markdown shows it as it is, on one line, and links
    to nothing."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", AUTOLINKS.sub(WORD_JOINER, " ".join(str(text).split())))


def plain_message(text: object, named: dict[str, str] | None = None) -> str:
    """An error message for a page: URLs masked, server paths cut to names (lrfp.core.redact; NAMED: paths
    with the names to give them), then escaped as plain() does."""
    return plain(without_paths(mask_urls(str(text)), named))


def chart_text(text: object) -> str:
    """TEXT for a plotly figure's legend and hover labels, which read a few HTML tags (<a href>, <span
    style>, <br>): & and < as entities, which plotly shows as the characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;")
