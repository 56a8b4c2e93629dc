"""`python -m guildnode`: the same command line as the `guildnode` script."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="guildnode")
