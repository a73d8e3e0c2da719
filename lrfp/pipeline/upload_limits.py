"""How much the app's server analyses at once, and how much of one image anything analyses: read from the
environment when imported, and light to import (the command line imports this module before any command runs,
so a bad value stops every command with one line; lrfp.core.settings says how)."""

from __future__ import annotations

from lrfp.core import settings
from lrfp.core.turns import FairSlots

# Uploads analysed at once in one process (the app's server): each big photo needs about 250 MB
# while it is decoded and searched, so visitors' uploads queue for a slot instead of adding up. A
# visitor holds one slot at most and visitors are served in turn, so with two slots a second
# visitor's photo is analysed while the first visitor's huge one still is.
UPLOAD_SLOTS = FairSlots(settings.positive_int("LRFP_UPLOAD_SLOTS", 2))
# Files one upload may hold: the server keeps every file of a session's uploader in memory, so a
# batch over this is refused whole (and dropped at once) rather than analysed in part.
MAX_UPLOAD_FILES = settings.positive_int("LRFP_MAX_UPLOAD_FILES", 10)
# Faces analysed in one image (an upload, a photo or a frame of a video or a stream, lrfp.pipeline.scene): a 4 MB
# mosaic of 10,000 faces of 32 px had 4,661 found, and classifying them took the server from 0.8 to 5.8 GB.
# An image with more gets the faces the detector is surest of analysed, and says so.
MAX_FACES = settings.positive_int("LRFP_MAX_FACES", 500)
