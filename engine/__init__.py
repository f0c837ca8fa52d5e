"""flashpool's engine: volumes, FlashCopy, the catalog and DFSMShsm fast replication.

Nothing below this package imports Textual, Rich or the console (checked by import-linter).
"""

import logging

# a library logs, its host decides where to (engine.logs): never Python's last-resort stderr
logging.getLogger("flashpool").addHandler(logging.NullHandler())
