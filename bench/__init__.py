"""`make bench`: MiniHub's load benchmark, side by side with baselines (bench/README.md)."""
