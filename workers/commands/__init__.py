"""The ``medium`` commands, one module per concern; ``workers/cli.py`` registers them."""
