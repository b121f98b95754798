"""``python -m trustmap``."""

from trustmap.cli import main

main()
