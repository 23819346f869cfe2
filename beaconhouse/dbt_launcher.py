"""``beaconhouse-dbt``: dbt's own command line, with a cheaper start and exit.

beaconhouse runs dbt as a command (``beaconhouse transform build``, the Dagster dbt
resource, the benchmarks), and a one-day rerun is a few seconds of SQL inside a
process that spends more than that starting and stopping. Three of those costs are
the interpreter's or a library's, not dbt's:

- importing dbt makes about 130,000 objects (mashumaro compiles a codec for each
  artifact class), and the cyclic garbage collector keeps walking them while the
  import goes on (1.47 s instead of 1.67 s here, medians of six). It is off during
  the import, and what the import made is then frozen out of later collections
  (``gc.freeze``);
- mashumaro compiles those codecs when each class is defined, though a command uses
  few of them. Its ``lazy_compilation`` option, switched on for every class here,
  compiles a codec on its first use instead; the code it compiles is the same. The
  import took 0.91-0.93 s instead of 1.14-1.17 s, and one-day reruns 0.12 s less
  (median of ten interleaved pairs; nine of the ten were faster);
- at exit the interpreter tears down every module and object one by one: about
  0.5 s after dbt has finished and written its artifacts and logs. Here the exit
  handlers run, the streams and log files are flushed and closed, and the process
  ends with ``os._exit`` and dbt's exit code.

One cost is dbt's own: artifacts that a command writes twice, or that nothing reads.
For the commands that run nodes (``run``, ``build``, ``test``, ``seed``,
``snapshot``), which write ``manifest.json`` again when they finish:

- the manifest is not written right after parsing as well; the one written at the
  end is complete. With ``graph.gpickle`` below, that step of a one-day rerun took
  0.10 s instead of 0.29-0.33 s in dbt's log;
- ``graph.gpickle`` is not written: a pickle of the DAG with every node, which dbt
  itself never reads back, nor does dagster-dbt or beaconhouse.

``run_results.json``, ``manifest.json`` and ``semantic_manifest.json`` are written as
dbt writes them. A run that is killed before it finishes leaves no manifest of its
own (stock dbt would have left the parse-time one). Every other command, ``parse``
and ``compile`` included, writes what dbt writes.

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
from collections.abc import Sequence
from typing import Any

#: the commands that run nodes and write manifest.json again when they finish
NODE_RUNNING_COMMANDS = frozenset({"run", "build", "test", "seed", "snapshot"})


def command_of(cli: Any, args: Sequence[str]) -> str | None:
    """The dbt command that ``args`` name, as dbt's command line parses them (global
    options may come first, and take values: ``--log-level debug ls``)."""
    context = cli.make_context("dbt", list(args), resilient_parsing=True)
    # click 8 keeps the command apart from the arguments after it; click 9 will not
    rest = [*getattr(context, "_protected_args", ()), *context.args]
    return rest[0] if rest else None


def compile_codecs_on_first_use() -> None:
    """Have mashumaro compile each class's codec when it is first used, not at import."""
    import mashumaro.config

    mashumaro.config.BaseConfig.lazy_compilation = True


def skip_redundant_artifacts() -> None:
    """Parse without writing the manifest, and write no ``graph.gpickle``."""
    import dbt.cli.requires as requires
    import dbt.compilation as compilation

    # requires.py calls parse_manifest by the name it imported, so that name is replaced
    parse_manifest = requires.parse_manifest  # type: ignore[attr-defined]

    def parse_manifest_unwritten(
        runtime_config: Any, write_perf_info: bool, write: bool, write_json: bool, active_integrations: Any
    ) -> Any:
        return parse_manifest(runtime_config, write_perf_info, False, write_json, active_integrations)

    def write_no_graph_file(self: Any, linker: Any, manifest: Any) -> None:
        return None

    requires.parse_manifest = parse_manifest_unwritten  # type: ignore[attr-defined]
    compilation.Compiler.write_graph_file = write_no_graph_file  # type: ignore[method-assign]


def main() -> None:
    gc.disable()
    compile_codecs_on_first_use()
    from dbt.cli.main import cli

    if command_of(cli, sys.argv[1:]) in NODE_RUNNING_COMMANDS:
        skip_redundant_artifacts()
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
