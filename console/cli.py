"""The `flashpool` command. The console and the HSM commands land with their issues."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="flashpool",
        description="DFSMShsm-style fast replication on volume images, with an operator console.",
    )
    parser.add_argument("--site", default="./flashpool-data", help="site directory")
    parser.parse_args(argv)
    print("flashpool: console not built yet - the engine is (see README.md, `make test`).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
