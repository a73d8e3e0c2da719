"""The image formats lrfp reads, in a module that imports nothing, so `lrfp --help` can name them at once."""

# Formats lrfp reads, judged by content (never by name), the same in the CLI and the app.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
