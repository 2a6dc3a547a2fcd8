"""Athena, locally: the embedded engine (DuckDB + sqlglot over the Glue catalog and S3)
and the Athena API emulator that runs it inside our moto server.

Local tooling only: nothing under ``chalicelib`` (the Lambda package) imports this package;
``chalicelib.query`` finds the engine by name through the ``gamepipe.query_engines`` entry
point. Modules: :mod:`.translate` (Athena SQL -> DuckDB), :mod:`.catalog` (tables and
registered partitions), :mod:`.engine` (LocalEngine), :mod:`.emulator` (the Athena API;
:mod:`.execute` runs one execution, :mod:`.moto_athena` installs it in moto).
This module stays import-light: targets read the environment names below without
loading DuckDB.
"""

from __future__ import annotations

# Environment of the moto process: the S3 endpoint the emulated Athena reads data from and
# writes results to (LocalStack's on the localstack target; default: the moto server itself).
ENV_EMULATOR_S3_ENDPOINT = "GAMEPIPE_ATHENA_S3_ENDPOINT"
