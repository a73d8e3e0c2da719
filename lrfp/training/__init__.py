"""Training: the configuration (config), the recipes behind one interface (recipe: the interface and
registry; recipes: the paper's and the production one), the loops (loop), a run's data (data,
device_data) and the run with its milestones, exact resume, record and events (run)."""

# the built-in recipes register themselves here, so that any use of training knows them by name
from lrfp.training import recipes  # noqa: F401
