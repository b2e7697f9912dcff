"""CLI command groups, one module each; `workers/cli.py` registers them on the `medium` app."""
