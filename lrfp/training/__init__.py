"""Training: the configuration, the recipes (the paper's and the production one), the loop and the run
with its milestones, exact resume and record."""
