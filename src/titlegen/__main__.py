"""Allow ``python -m titlegen``."""

from titlegen.cli import cli

if __name__ == "__main__":
    cli(prog_name="titlegen")
