"""Run records in results/ as tables beside the paper's numbers, and the README's results section."""
