"""What ships in weights/: the checked index, the paper families' best checkpoints and the
production model, each with its model card."""
