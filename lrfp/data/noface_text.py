"""Pictures of text with no face, drawn with Pillow: typeset pages in several scripts, pages photographed
as a phone scans them, forms, and signs and posters.

Fonts: FONTS lists, per script, the font files wanted (Debian's fonts-dejavu-core, fonts-liberation,
fonts-freefont-ttf, fonts-noto-core, fonts-noto-cjk, fonts-ipafont-gothic); a script is drawn with
those of its fonts that are installed, and left out when none is (so a machine with DejaVu alone, as
CI, draws Latin, Greek, Cyrillic, Arabic and Hebrew pages in DejaVu). Text is made of words drawn from
each script's letters: it reads as text to a detector, and is in no language.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_LATIN = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationMono-Regular.ttf",
    "FreeSerif.ttf",
    "FreeSans.ttf",
    "FreeMono.ttf",
    "NotoSerif-Regular.ttf",
    "NotoSans-Regular.ttf",
)
FONTS = {
    "latin": _LATIN,
    "greek": ("DejaVuSerif.ttf", "DejaVuSans.ttf", "FreeSerif.ttf", "NotoSerif-Regular.ttf"),
    "cyrillic": ("DejaVuSans.ttf", "LiberationSerif-Regular.ttf", "FreeSans.ttf", "NotoSans-Regular.ttf"),
    "arabic": ("DejaVuSans.ttf", "NotoNaskhArabic-Regular.ttf", "NotoSansArabic-Regular.ttf", "FreeSerif.ttf"),
    "hebrew": ("DejaVuSans.ttf", "NotoSansHebrew-Regular.ttf", "FreeSans.ttf"),
    "devanagari": ("NotoSansDevanagari-Regular.ttf", "NotoSerifDevanagari-Regular.ttf", "FreeSans.ttf"),
    "cjk": ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc", "ipag.ttf"),
    "thai": ("NotoSansThai-Regular.ttf", "NotoSerifThai-Regular.ttf"),
}
# each script's letters, the Latin ones repeated as often as English uses them
_LETTERS = {
    "latin": "eeeeeeeeeeeettttttttaaaaaaaoooooooiiiiiinnnnnnsssssshhhhhrrrrrdddlllluuucccmmffwwyyppgbbvk",
    "greek": "".join(map(chr, range(0x3B1, 0x3CA))),
    "cyrillic": "".join(map(chr, range(0x430, 0x450))),
    "arabic": "".join(map(chr, range(0x627, 0x63B))) + "".join(map(chr, range(0x641, 0x64B))),
    "hebrew": "".join(map(chr, range(0x5D0, 0x5EB))),
    "devanagari": "".join(map(chr, range(0x915, 0x93A))) + "ािीुूेैोौ",
    "cjk": "".join(map(chr, range(0x4E00, 0x4F00))) + "".join(map(chr, range(0x3041, 0x3094))),
    "thai": "".join(map(chr, range(0xE01, 0xE2F))),
}
RIGHT_TO_LEFT = ("arabic", "hebrew")
INK = ((20, 20, 20), (40, 40, 60), (10, 30, 80), (60, 20, 20))
PAPER = ((255, 255, 255), (250, 248, 240), (245, 245, 235), (238, 240, 245))


@cache
def font_path(name: str) -> Path | None:
    """The installed file of this name, or None."""
    for root in FONT_DIRS:
        if root.is_dir():
            for path in sorted(root.rglob(name)):
                return path
    return None


def available_fonts() -> dict[str, list[Path]]:
    """Script -> its installed font files (scripts with none left out)."""
    found = {s: [p for p in map(font_path, names) if p is not None] for s, names in FONTS.items()}
    return {s: paths for s, paths in found.items() if paths}


def words(script: str, n: int, rng: random.Random) -> str:
    """N words of 1-9 letters of SCRIPT (CJK: runs of characters with no spaces)."""
    letters = _LETTERS[script]
    out = ["".join(rng.choice(letters) for _ in range(rng.choice((1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9)))) for _ in range(n)]
    return ("" if script == "cjk" else " ").join(out)


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _lines(draw, text_of, font, width: int, script: str) -> list[str]:
    """Words from text_of() wrapped to WIDTH px, a paragraph's lines."""
    lines, line = [], ""
    for word in text_of():
        trial = f"{line}{'' if script == 'cjk' or not line else ' '}{word}"
        if line and draw.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def page(rng: random.Random, script: str, font: Path, size: tuple[int, int] | None = None) -> Image.Image:
    """A typeset page: a title, paragraphs in one or two columns, a page number."""
    width, height = size or rng.choice(((1240, 1754), (1275, 1650), (827, 1170), (1654, 2339)))
    image = Image.new("RGB", (width, height), rng.choice(PAPER))
    draw = ImageDraw.Draw(image)
    ink = rng.choice(INK)
    body = max(11, round(width / rng.uniform(45, 90)))
    margin = round(width * rng.uniform(0.07, 0.14))
    columns = rng.choice((1, 1, 2))
    gap = round(width * 0.04)
    col_w = (width - 2 * margin - gap * (columns - 1)) // columns
    title = _font(font, round(body * rng.uniform(1.6, 2.6)))
    text = _font(font, body)
    y = margin
    draw.text((margin, y), words(script, rng.randint(2, 6), rng), font=title, fill=ink)
    y += round(title.size * 2)
    top, column = y, 0
    anchor_right = script in RIGHT_TO_LEFT
    while column < columns:
        chunk = rng.randint(3, 12) * 12
        for line in _lines(draw, lambda: words(script, chunk, rng).split(" "), text, col_w, script):
            if y + body * 1.5 > height - margin:
                column, y = column + 1, top
                if column >= columns:
                    break
            x = margin + column * (col_w + gap)
            if anchor_right:
                draw.text((x + col_w, y), line, font=text, fill=ink, anchor="ra")
            else:
                draw.text((x, y), line, font=text, fill=ink)
            y += round(body * rng.uniform(1.3, 1.6))
        y += body
    draw.text((width // 2, height - margin // 2), str(rng.randint(1, 400)), font=text, fill=ink, anchor="mm")
    return image


def scanned(rng: random.Random, script: str, font: Path) -> Image.Image:
    """A page as a phone photographs it: on a desk, turned a little, in uneven light, blurred, noisy."""
    sheet = page(rng, script, font)
    angle = rng.uniform(-6, 6)
    turned = sheet.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    mask = Image.new("L", sheet.size, 255).rotate(angle, expand=True)
    desk_w, desk_h = round(turned.width * rng.uniform(1.05, 1.25)), round(turned.height * rng.uniform(1.03, 1.15))
    desk = Image.new("RGB", (desk_w, desk_h), tuple(rng.randint(40, 150) for _ in range(3)))
    desk.paste(turned, ((desk_w - turned.width) // 2, (desk_h - turned.height) // 2), mask)
    pixels = np.asarray(desk, dtype=np.float32)
    yy, xx = np.mgrid[0:desk_h, 0:desk_w].astype(np.float32)
    cx, cy = rng.uniform(0, desk_w), rng.uniform(0, desk_h)
    light = 1.0 - rng.uniform(0.1, 0.35) * np.hypot(xx - cx, yy - cy) / np.hypot(desk_w, desk_h)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 7), pixels.shape)
    pixels = np.clip(pixels * light[..., None] + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.4)))


def form(rng: random.Random, font: Path) -> Image.Image:
    """A form: a heading, labelled fields, check boxes, a table of figures, a signature line."""
    width, height = rng.choice(((1240, 1754), (1275, 1650), (1000, 1400)))
    image = Image.new("RGB", (width, height), rng.choice(PAPER))
    draw = ImageDraw.Draw(image)
    ink, accent = rng.choice(INK), tuple(rng.randint(0, 200) for _ in range(3))
    size = max(12, width // 60)
    text, head = _font(font, size), _font(font, size * 2)
    margin = width // 12
    draw.rectangle((0, 0, width, margin + size * 2), fill=accent)
    draw.text((margin, margin // 2), words("latin", 3, rng).upper(), font=head, fill=(255, 255, 255))
    y = margin * 2 + size * 2
    for _ in range(rng.randint(4, 9)):
        draw.text((margin, y), words("latin", rng.randint(1, 3), rng).capitalize() + ":", font=text, fill=ink)
        x0 = margin + width // 4
        if rng.random() < 0.5:
            draw.rectangle((x0, y - 4, width - margin, y + size + 6), outline=ink, width=2)
        else:
            draw.line((x0, y + size + 4, width - margin, y + size + 4), fill=ink, width=2)
        y += size * 3
    for _ in range(rng.randint(2, 5)):
        draw.rectangle((margin, y, margin + size, y + size), outline=ink, width=2)
        if rng.random() < 0.4:
            draw.line((margin + 3, y + size // 2, margin + size // 2, y + size - 3), fill=ink, width=3)
            draw.line((margin + size // 2, y + size - 3, margin + size - 2, y + 2), fill=ink, width=3)
        draw.text((margin + size * 2, y), words("latin", rng.randint(3, 8), rng), font=text, fill=ink)
        y += size * 2
    rows, cols = rng.randint(4, 12), rng.randint(3, 6)
    cell_w, cell_h = (width - 2 * margin) // cols, size * 2
    y += size
    for r in range(rows + 1):
        if y + cell_h > height - margin * 2:
            break
        for c in range(cols):
            x = margin + c * cell_w
            draw.rectangle((x, y, x + cell_w, y + cell_h), outline=ink, fill=accent if r == 0 else None)
            label = words("latin", 1, rng) if r == 0 or c == 0 else f"{rng.uniform(0, 9999):.2f}"
            draw.text((x + 6, y + size // 2), label, font=text, fill=(255, 255, 255) if r == 0 else ink)
        y += cell_h
    draw.line((width - margin - width // 3, height - margin, width - margin, height - margin), fill=ink, width=2)
    return image


def sign(rng: random.Random, font: Path, background: Image.Image) -> Image.Image:
    """A sign or poster with a few big words, shapes and small print, on a wall (BACKGROUND)."""
    wall = background.convert("RGB")
    width, height = wall.size
    board_w, board_h = round(width * rng.uniform(0.35, 0.8)), round(height * rng.uniform(0.3, 0.8))
    colour = tuple(rng.randint(0, 255) for _ in range(3))
    ink = (255, 255, 255) if sum(colour) < 380 else (10, 10, 10)
    board = Image.new("RGB", (board_w, board_h), colour)
    draw = ImageDraw.Draw(board)
    draw.rectangle((4, 4, board_w - 5, board_h - 5), outline=ink, width=max(2, board_w // 80))
    big = _font(font, max(12, board_h // rng.randint(5, 9)))
    y = board_h // 10
    for _ in range(rng.randint(1, 3)):
        line = words("latin", rng.randint(1, 2), rng).upper()
        draw.text((board_w // 2, y), line, font=big, fill=ink, anchor="ma")
        y += round(big.size * 1.3)
    shape = rng.choice(("arrow", "triangle", "bar", "none"))
    cx, cy, r = board_w // 2, min(board_h - board_h // 6, y + board_h // 6), max(6, board_h // 10)
    if shape == "arrow":
        draw.polygon([(cx - 2 * r, cy - r // 2), (cx, cy - r // 2), (cx, cy - r), (cx + 2 * r, cy),
                      (cx, cy + r), (cx, cy + r // 2), (cx - 2 * r, cy + r // 2)], fill=ink)  # fmt: skip
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], outline=ink, width=max(2, r // 5))
    elif shape == "bar":
        draw.rectangle((board_w // 8, cy - r // 3, board_w - board_w // 8, cy + r // 3), fill=ink)
    small = _font(font, max(10, board_h // 30))
    draw.text((board_w // 2, board_h - board_h // 12), words("latin", 6, rng), font=small, fill=ink, anchor="md")
    angle = rng.uniform(-4, 4)
    board = board.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    mask = Image.new("L", (board_w, board_h), 255).rotate(angle, expand=True)
    wall.paste(
        board, (rng.randint(0, max(0, width - board.width)), rng.randint(0, max(0, height - board.height))), mask
    )
    return wall
