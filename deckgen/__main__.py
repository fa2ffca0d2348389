import sys

from deckgen.commands.cli import main

sys.exit(main())
