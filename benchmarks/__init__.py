"""Scripts that measure speed; each prints its figures (docs/throughput.md has them)."""
