"""Dashboard aggregations of one experiment: runs by status, best run, runs per day."""
