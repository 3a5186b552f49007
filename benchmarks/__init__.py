"""Scripts that measure speed and memory; each prints its figures (see the README)."""
