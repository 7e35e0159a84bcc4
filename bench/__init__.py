"""`make bench`: MiniHub's load benchmark, side by side with baselines (README, "Benchmarks")."""
