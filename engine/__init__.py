"""flashpool's engine: volumes, FlashCopy, the catalog and DFSMShsm fast replication.

Nothing below this package imports Textual, Rich or the console (checked by import-linter).
"""
