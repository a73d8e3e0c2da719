"""Run records in results/ as tables beside the paper's numbers, and the results tables of docs/reproduction.md."""
