"""`python -m tradetune` runs the same CLI as the `tradetune` console script."""

from tradetune.cli import main

main()
