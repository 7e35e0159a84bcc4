"""MiniHub with one part taken out, to measure what that part costs (never deployed)."""
