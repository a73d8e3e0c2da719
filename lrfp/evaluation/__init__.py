"""Measuring models and the whole pipeline: accuracy by face size, faces as the app meets them, and
the detector + classifier on labelled photos."""
