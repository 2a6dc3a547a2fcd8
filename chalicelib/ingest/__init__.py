"""The ingest API's logic: validate client events, stamp server fields, write to Kinesis.

Every accepted event is stamped with the application of the request's API key
(``application_id``, from the authorizer's context; a client's own value is overwritten)
and, for an application allowed to backfill, ``backfill: true``. Beyond the typed models,
each event passes the contract's byte and time rules (``chalicelib.contract.rules``): the
same function the consumer applies, so what the API accepts the consumer keeps.

Modules: :mod:`.handler` (one request: read, validate, write, reply), :mod:`.lines` (an
event as the line the stream carries), :mod:`.client` (who sent the request).
"""

from chalicelib.ingest.client import ClientInfo
from chalicelib.ingest.handler import IngestResult, ingest_events, to_response
from chalicelib.ingest.lines import encode_records

__all__ = ["ClientInfo", "IngestResult", "encode_records", "ingest_events", "to_response"]
