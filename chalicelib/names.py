"""Every resource name, per stage, from one function: the template, the local stack and the CLI.

``resource_names("prod", account="${AWS::AccountId}", region="${AWS::Region}")`` gives the
names the CloudFormation template creates (as ``Fn::Sub`` text); ``resource_names("local")``
the ones the local emulator uses. S3 bucket names are global across all AWS accounts, so on
AWS they end in ``-<account>-<region>``; an emulator has one account and no global
namespace, so without an account the suffix is left out. The stage is in every name, so
dev and prod live side by side in one account.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

APP = "gamepipe"
# Where the reports go in the reports bucket (the report functions' only write grant).
REPORTS_PREFIX = "reports"
# Lower-case letters, digits, hyphens: valid in every name below (Glue turns - into _).
# 16 characters keep the longest bucket name (reports, 14-character region) within 63.
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")

# The environment variable (chalicelib.settings) that carries each name to a function.
ENV_BY_NAME = {
    "stream": "GAMEPIPE_STREAM_NAME",
    "data_bucket": "GAMEPIPE_DATA_BUCKET",
    "reports_bucket": "GAMEPIPE_REPORTS_BUCKET",
    "glue_database": "GAMEPIPE_GLUE_DATABASE",
    "athena_workgroup": "GAMEPIPE_ATHENA_WORKGROUP",
    "applications_table": "GAMEPIPE_APPLICATIONS_TABLE",
}


@dataclass(frozen=True)
class ResourceNames:
    """The physical names of one stage's resources."""

    stage: str
    stack: str
    stream: str
    data_bucket: str
    reports_bucket: str
    glue_database: str
    athena_workgroup: str
    applications_table: str  # DynamoDB: the applications and their API key hashes
    logs_bucket: str  # S3 server access logs of the data and reports buckets
    artifacts_bucket: str  # where `make deploy` uploads deployment.zip (outside the stack)

    def env(self) -> dict[str, str]:
        """The names as the GAMEPIPE_* variables a function reads."""
        values = asdict(self)
        return {var: values[field] for field, var in ENV_BY_NAME.items()}


def resource_names(
    stage: str, account: str | None = None, region: str | None = None
) -> ResourceNames:
    """Names of ``stage``'s resources; buckets end in ``-<account>-<region>`` if both given."""
    if not _STAGE.match(stage):
        raise ValueError(f"stage {stage!r}: use 1-16 lower-case letters, digits and hyphens")
    base = f"{APP}-{stage}"
    suffix = f"-{account}-{region}" if account and region else ""
    return ResourceNames(
        stage=stage,
        stack=base,
        stream=f"{base}-events",
        data_bucket=f"{base}-data{suffix}",
        reports_bucket=f"{base}-reports{suffix}",
        # Athena SQL quotes hyphenated identifiers; underscores need no quoting.
        glue_database=base.replace("-", "_"),
        athena_workgroup=base,
        applications_table=f"{base}-applications",
        logs_bucket=f"{base}-logs{suffix}",
        artifacts_bucket=f"{base}-artifacts{suffix}",
    )
