import sys

from beaconhouse.cli import main

# Guarded: worker processes (spawned for parsing) import the main module again.
if __name__ == "__main__":
    sys.exit(main())
