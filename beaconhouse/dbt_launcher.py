"""``beaconhouse-dbt``: dbt's own command line, with a cheaper start and exit.

beaconhouse runs dbt as a command (``beaconhouse transform build``, the Dagster dbt
resource, the benchmarks), and a one-day rerun is a few seconds of SQL inside a
process that spends more than that starting and stopping. Two of those costs are
the interpreter's, not dbt's:

- importing dbt makes about 130,000 objects (mashumaro compiles a codec for each
  artifact class), and the cyclic garbage collector keeps walking them while the
  import goes on (1.47 s instead of 1.67 s here, medians of six). It is off during
  the import, and what the import made is then frozen out of later collections
  (``gc.freeze``);
- at exit the interpreter tears down every module and object one by one: about
  0.5 s after dbt has finished and written its artifacts and logs. Here the exit
  handlers run, the streams and log files are flushed and closed, and the process
  ends with ``os._exit`` and dbt's exit code.

Arguments, output and exit codes are dbt's (``beaconhouse-dbt run …`` is ``dbt run
…``). An exception that escapes dbt's command line is raised as usual, with the
normal interpreter exit.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys


def main() -> None:
    gc.disable()
    from dbt.cli.main import cli

    gc.freeze()
    gc.enable()
    try:
        cli()
    except SystemExit as exit_:
        code = exit_.code
    else:  # click's standalone mode always exits; be safe if it returns
        code = 0
    if isinstance(code, str):  # sys.exit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
