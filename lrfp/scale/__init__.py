"""Past one process, on Ray: `lrfp monitor` over many cameras, and sweeps of training runs as Ray tasks."""
