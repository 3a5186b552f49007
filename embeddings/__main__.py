"""`python -m embeddings`: see embeddings/cli.py."""

from embeddings.cli import main

raise SystemExit(main())
