"""`python -m cli`: the `flashpool` command (how `flashpool serve --detach` starts the server)."""

import sys

from cli.main import main

sys.exit(main())
