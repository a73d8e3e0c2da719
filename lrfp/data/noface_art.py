"""Pictures with no face made from nothing but a seed: charts, program windows, textures (foliage, gravel,
fabric, brick, wood, stone) and skies (clouds, dusk, stars and a nebula, as a telescope shows them).

Every function takes a random.Random and gives an RGB image; the same seed gives the same pixels.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lrfp.data.noface_text import words

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
TEXTURES = ("foliage", "gravel", "fabric", "brick", "wood", "stone")
SKIES = ("day", "overcast", "dusk", "stars")


def noise(rng: random.Random, size: tuple[int, int], octaves: int = 6, base: int = 4) -> np.ndarray:
    """Fractal noise in [0, 1] of SIZE (width, height): random grids of growing detail, resized and summed."""
    gen = np.random.default_rng(rng.randrange(2**32))
    width, height = size
    total = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        cells = base * 2**octave
        grid = gen.random((max(2, cells * height // max(width, height)), max(2, cells * width // max(width, height))))
        layer = Image.fromarray((grid * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
        total += np.asarray(layer, np.float32) / 255 / 2**octave
    total -= total.min()
    return total / max(float(total.max()), 1e-6)


def _rgb(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def chart(rng: random.Random, font: Path) -> Image.Image:
    """A bar, line, scatter or pie chart with axes, ticks, a title and a legend."""
    width, height = rng.choice(((800, 600), (1200, 800), (1600, 900), (1000, 1000)))
    image = Image.new("RGB", (width, height), rng.choice(((255, 255, 255), (248, 248, 248), (30, 30, 36))))
    dark = image.getpixel((0, 0)) == (30, 30, 36)
    ink = (220, 220, 220) if dark else (40, 40, 40)
    draw = ImageDraw.Draw(image)
    size = max(11, height // 45)
    text, title = ImageFont.truetype(str(font), size), ImageFont.truetype(str(font), size * 2)
    draw.text(
        (width // 2, size), words("latin", rng.randint(2, 5), rng).capitalize(), font=title, fill=ink, anchor="ma"
    )
    x0, y0, x1, y1 = width // 8, height // 6, width - width // 10, height - height // 8
    kind = rng.choice(("bar", "line", "scatter", "pie"))
    series = rng.randint(1, 4)
    if kind == "pie":
        parts = [rng.random() + 0.2 for _ in range(rng.randint(3, 7))]
        start, cx, cy, r = 0.0, (x0 + x1) // 2, (y0 + y1) // 2, min(x1 - x0, y1 - y0) // 2
        for i, part in enumerate(parts):
            end = start + 360 * part / sum(parts)
            draw.pieslice((cx - r, cy - r, cx + r, cy + r), start, end, fill=PALETTE[i % len(PALETTE)], outline=ink)
            start = end
    else:
        draw.line((x0, y0, x0, y1, x1, y1), fill=ink, width=2)
        for t in range(6):
            y = y1 - (y1 - y0) * t // 5
            draw.line((x0 - 6, y, x0, y), fill=ink, width=2)
            draw.text((x0 - 10, y), str(t * rng.choice((1, 2, 5, 10, 20))), font=text, fill=ink, anchor="rm")
        points = rng.randint(5, 24)
        for s in range(series):
            values = np.cumsum(np.random.default_rng(rng.randrange(2**32)).normal(0, 1, points))
            values = (values - values.min()) / max(float(np.ptp(values)), 1e-6)
            colour = PALETTE[s % len(PALETTE)]
            xs = [x0 + (x1 - x0) * (i + 0.5) / points for i in range(points)]
            ys = [y1 - (y1 - y0) * (0.1 + 0.85 * v) for v in values]
            if kind == "bar":
                w = (x1 - x0) / points / (series + 1)
                for x, y in zip(xs, ys):
                    draw.rectangle((x - w * series / 2 + s * w, y, x - w * series / 2 + (s + 1) * w, y1), fill=colour)
            elif kind == "line":
                draw.line(list(zip(xs, ys)), fill=colour, width=3)
            else:
                for x, y in zip(xs, ys):
                    r = rng.randint(3, 8)
                    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    for s in range(series):
        draw.rectangle((x1 - width // 6, y0 + s * size * 2, x1 - width // 6 + size, y0 + s * size * 2 + size),
                       fill=PALETTE[s % len(PALETTE)])  # fmt: skip
        draw.text((x1 - width // 6 + size * 2, y0 + s * size * 2), words("latin", 1, rng), font=text, fill=ink)
    return image


def screen(rng: random.Random, font: Path, mono: Path) -> Image.Image:
    """A program's window: title bar, menu, side list, and a table, a code editor or a terminal."""
    width, height = rng.choice(((1280, 800), (1366, 768), (1920, 1080), (1440, 900)))
    look = rng.choice(("table", "editor", "terminal"))
    back = {"table": (250, 250, 250), "editor": (39, 40, 34), "terminal": (12, 12, 12)}[look]
    image = Image.new("RGB", (width, height), back)
    draw = ImageDraw.Draw(image)
    size = rng.choice((12, 13, 14, 16))
    ui, code = ImageFont.truetype(str(font), size), ImageFont.truetype(str(mono), size)
    bar = size * 2 + 8
    draw.rectangle((0, 0, width, bar), fill=(60, 60, 66))
    for i, colour in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        draw.ellipse((10 + i * 22, bar // 2 - 6, 22 + i * 22, bar // 2 + 6), fill=colour)
    draw.text((width // 2, bar // 2), words("latin", 3, rng), font=ui, fill=(230, 230, 230), anchor="mm")
    draw.rectangle((0, bar, width, bar * 2), fill=(235, 235, 238))
    x = 10
    for _ in range(rng.randint(4, 8)):
        label = words("latin", 1, rng).capitalize()
        draw.text((x, bar + bar // 2), label, font=ui, fill=(30, 30, 30), anchor="lm")
        x += int(draw.textlength(label, font=ui)) + 24
    side = width // rng.randint(5, 8)
    draw.rectangle((0, bar * 2, side, height), fill=(225, 228, 233))
    for i in range(2, height // (size * 2)):
        draw.text(
            (12, bar * 2 + i * size * 2 - size), words("latin", rng.randint(1, 3), rng), font=ui, fill=(50, 50, 60)
        )
    top, line = bar * 2 + 10, size + 6
    if look == "table":
        cols = rng.randint(3, 7)
        cell = (width - side - 20) // cols
        for r in range((height - top) // line):
            y = top + r * line
            if r % 2:
                draw.rectangle((side, y, width, y + line), fill=(240, 242, 246))
            for c in range(cols):
                value = words("latin", 1, rng) if c == 0 or r == 0 else f"{rng.uniform(-999, 9999):.1f}"
                draw.text((side + 10 + c * cell, y + 3), value, font=ui if r else code, fill=(30, 30, 30))
    else:
        colours = ((249, 38, 114), (166, 226, 46), (230, 219, 116), (102, 217, 239), (248, 248, 242))
        for r in range((height - top) // line):
            y, x = top + r * line, side + 10 + size * rng.randint(0, 4) * 2
            if look == "editor":
                draw.text((side + 4, y), f"{r + 1:>4}", font=code, fill=(117, 113, 94))
                x += size * 4
            for _ in range(rng.randint(0, 6)):
                token = words("latin", 1, rng) + rng.choice(("", "(", ")", " =", ".", ":", ","))
                colour = rng.choice(colours) if look == "editor" else (200, 200, 200)
                draw.text((x, y), token, font=code, fill=colour)
                x += int(draw.textlength(token + " ", font=code))
    return image


def texture(rng: random.Random, name: str, size: tuple[int, int]) -> Image.Image:
    """One of TEXTURES, SIZE (width, height)."""
    width, height = size
    gen = np.random.default_rng(rng.randrange(2**32))
    if name == "foliage":
        image = _rgb(np.stack([noise(rng, size) * 40 + c for c in (20, 60, 20)], -1))
        draw = ImageDraw.Draw(image)
        for _ in range(width * height // 400):
            x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 22)
            angle, shade = rng.uniform(0, math.pi), rng.uniform(0.4, 1.3)
            dx, dy = math.cos(angle) * r, math.sin(angle) * r
            leaf = [(x - dx, y - dy), (x - dy / 3, y + dx / 3), (x + dx, y + dy), (x + dy / 3, y - dx / 3)]
            draw.polygon(leaf, fill=tuple(min(255, round(c * shade)) for c in (50, 110 + rng.randint(-30, 40), 40)))
        return image.filter(ImageFilter.GaussianBlur(0.7))
    if name == "gravel":
        base = rng.randint(90, 160)
        image = _rgb(np.full((height, width, 3), base, np.float32) + gen.normal(0, 8, (height, width, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(width * height // 150):
            x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(3, 14)
            grey = base + rng.randint(-60, 60)
            tint = (grey + rng.randint(-10, 10), grey, grey + rng.randint(-15, 5))
            draw.ellipse((x - r, y - r * rng.uniform(0.5, 1), x + r, y + r), fill=tint, outline=(40, 40, 40))
        return image.filter(ImageFilter.GaussianBlur(0.6))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    n = noise(rng, size)
    if name == "fabric":
        period = rng.uniform(3, 9)
        weave = np.sin(xx * 2 * math.pi / period) * np.sin(yy * 2 * math.pi / period)
        colour = np.array([rng.randint(30, 220) for _ in range(3)], np.float32)
        return _rgb(colour * (0.8 + 0.15 * weave[..., None] + 0.2 * n[..., None] - 0.1))
    if name == "brick":
        bw, bh = rng.randint(40, 110), rng.randint(16, 40)
        row = (yy // bh).astype(int)
        shifted = (xx + (row % 2) * bw / 2) % bw
        mortar = (shifted < 4) | ((yy % bh) < 4)
        hue = gen.uniform(0.7, 1.1, (int(height // bh) + 2, int(width // bw) + 2))[
            row, ((xx + (row % 2) * bw / 2) // bw).astype(int)
        ]
        red = np.stack([150 * hue, 60 * hue, 45 * hue], -1) * (0.85 + 0.3 * n[..., None])
        return _rgb(np.where(mortar[..., None], np.float32(170) + 30 * n[..., None], red))
    if name == "wood":
        rings = np.sin((xx * rng.uniform(0.002, 0.01) + n * rng.uniform(4, 10)) * 2 * math.pi * rng.uniform(3, 8))
        return _rgb(np.stack([140 + 40 * rings, 90 + 30 * rings, 50 + 20 * rings], -1))
    stone = 90 + 120 * noise(rng, size, octaves=8)  # grey fractal noise with cracks
    cracks = (np.abs(noise(rng, size, base=3) - 0.5) < 0.01).astype(np.float32)
    return _rgb(np.stack([stone * 1.02, stone, stone * 0.95], -1) * (1 - 0.5 * cracks[..., None]))


def sky(rng: random.Random, name: str, size: tuple[int, int]) -> Image.Image:
    """One of SKIES, SIZE (width, height)."""
    width, height = size
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    clouds = noise(rng, size, octaves=7)[..., None]
    if name == "stars":  # a deep-sky photo: black, a coloured nebula, stars of every brightness
        nebula = noise(rng, size, octaves=7, base=2)[..., None] ** 3
        colour = np.array([rng.randint(60, 255) for _ in range(3)], np.float32)
        array = nebula * colour * rng.uniform(0.5, 1.2)
        gen = np.random.default_rng(rng.randrange(2**32))
        count = width * height // rng.randint(300, 2000)
        ys, xs = gen.integers(0, height, count), gen.integers(0, width, count)
        array[ys, xs] += (gen.pareto(2.0, count) * 80)[:, None]
        return _rgb(array).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.5)))
    top, bottom = {
        "day": ((40, 100, 200), (170, 210, 240)),
        "overcast": ((150, 155, 165), (200, 200, 205)),
        "dusk": ((30, 30, 80), (250, 150, 70)),
    }[name]
    gradient = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    cover = np.clip((clouds - rng.uniform(0.3, 0.6)) * 3, 0, 1)
    white = np.float32(235 if name != "dusk" else 200)
    array = np.broadcast_to(gradient, (height, width, 3)) * (1 - cover) + white * cover
    if rng.random() < 0.5:  # a horizon: hills or roofs in the last fifth
        line = (height * (0.8 + 0.1 * noise(rng, (width, 1), octaves=4)[0])).astype(int)
        rows = np.arange(height)[:, None]
        array = np.where((rows >= line[None, :])[..., None], np.float32(25) + 20 * clouds, array)
    return _rgb(array)
