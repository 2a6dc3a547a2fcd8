#!/usr/bin/env bash
# Deploy gamepipe with CloudFormation: `chalice package --merge-template infrastructure/merge.json`
# then create/update the stack. Endpoints and credentials come from the environment:
#   AWS:        infrastructure/deploy.sh --stage dev --artifacts-bucket MY-BUCKET
#   LocalStack: AWS_ENDPOINT_URL=http://127.0.0.1:4566 infrastructure/deploy.sh --resources-only \
#                 --skip-type AWS::Glue::Database
# (LocalStack without Docker runs no Lambda and has no Glue in its free tier: data plane only.)
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
exec .venv/bin/gamepipe stack deploy "$@"
