"""Reports for process owners: happiness and lost time against XLA targets, from stored answers."""
