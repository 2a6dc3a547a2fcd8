"""moto's server, with its Kinesis shard made safe for concurrent PutRecords.

moto 5.2.5's ``Shard.put_record`` is "not safe for concurrency" (its own comment): it
numbers a record as max(sequence) + 1 and stores it by that number, so two requests
handled at once by its threaded server can get the same number and one record silently
replaces the other. Measured here: 100,000 events sent by 4 concurrent clients through
``chalice local`` -> 98,426 in the stream, every one of the missing ones acknowledged.
Finding the max also copies all keys (O(n) per record), which made ingest slow down as the
shard filled. Both are fixed here by serialising ``put_record`` and reading the last key
in O(1). Its Athena runs queries (``gamepipe.athena.moto_athena``: moto's own runs none and
answers 0 rows). Run as ``python -m gamepipe.stack.moto_server -H HOST -p PORT`` (same
arguments as ``python -m moto.server``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from moto.kinesis import models

_LOCK = threading.Lock()
_put_record = models.Shard.put_record


def _safe_put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
    with _LOCK:
        return _put_record(self, partition_key, data, explicit_hash_key)


def _last_sequence_number(self: Any) -> int:
    return next(reversed(self.records)) if self.records else 0


def patch() -> None:
    """Apply the Kinesis fixes to moto in this process."""
    models.Shard.put_record = _safe_put_record  # type: ignore[method-assign]
    models.Shard.get_max_sequence_number = _last_sequence_number  # type: ignore[method-assign]


def install_athena(endpoint: str) -> None:
    """Make moto's Athena run queries; it reads Glue at ``endpoint`` (this server) and S3 at
    GAMEPIPE_ATHENA_S3_ENDPOINT when set (LocalStack's S3 on that target), else there too."""
    from gamepipe.athena.emulator import EmulatorConfig
    from gamepipe.athena.moto_athena import install

    install(EmulatorConfig.from_env(endpoint))


def _own_url(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args, _ = parser.parse_known_args(argv)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    return f"http://{host}:{args.port}"


def main(argv: list[str] | None = None) -> None:
    """Start moto's server (same CLI as ``python -m moto.server``) with the fixes applied."""
    from moto.server import main as moto_main

    args = sys.argv[1:] if argv is None else argv
    patch()
    install_athena(_own_url(args))
    moto_main(args)


if __name__ == "__main__":
    main()


@contextlib.contextmanager
def in_process() -> Iterator[str]:
    """A threaded moto server in this process on a free port; yields its URL.

    Meanwhile the environment points boto3 (and DuckDB's S3 reader) at it with fake
    credentials, and per-service endpoints, profile and session token are hidden; all
    restored on exit. For tests and benchmarks that need real HTTP (DuckDB's S3 reads).
    Its Athena runs queries (the emulator) while the block runs; moto's own returns after.
    """
    from moto.server import ThreadedMotoServer

    from chalicelib import aws
    from gamepipe.athena.emulator import EmulatorConfig
    from gamepipe.athena.moto_athena import installed
    from gamepipe.stack.procs import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    hidden = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE")
    saved = {k: os.environ.get(k) for k in (*env, *hidden)}
    for name in hidden:
        os.environ.pop(name, None)
    os.environ.update(env)
    aws.reset()
    try:
        with installed(EmulatorConfig(endpoint=endpoint, s3_endpoint=endpoint)):
            yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset()
