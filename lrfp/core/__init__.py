"""The ground floor: errors a user can fix, where files live, atomic files and run facts, folder locks,
the device and precision, and the metrics. Imports nothing else of lrfp."""
