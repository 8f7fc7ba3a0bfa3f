"""Small environments for testing and benchmarking agents."""
