"""`python -m bench [--quick] [--profile] [--output DIR]`."""

from bench.cli import main

raise SystemExit(main())
