import sys

from beaconhouse.cli import main

sys.exit(main())
