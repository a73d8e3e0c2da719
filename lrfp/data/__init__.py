"""Faces on disk: image loading and the dataset manifest, PASCAL VOC sources, splits by photo, the
dataset build, the face bank, folds, low-resolution simulation, and the shipped demo set and footage."""
