"""Development and test tooling that runs beside MiniHub and is never deployed with it."""
