#!/usr/bin/env bash
# Deploy gamepipe with CloudFormation: `make package` (gamepipe/infra/package.py: chalice package
# with the merge template generated per stage) then create/update the stack gamepipe-STAGE.
# Endpoints and credentials come from the environment:
#   AWS:        infrastructure/deploy.sh --stage dev        (= make deploy STAGE=dev)
#   LocalStack: AWS_ENDPOINT_URL=http://127.0.0.1:4566 infrastructure/deploy.sh --resources-only \
#                 --skip-type AWS::Glue::Database --skip-type AWS::Athena::WorkGroup \
#                 --skip-type AWS::DynamoDB::Table
# (LocalStack without Docker runs no Lambda and has no Glue/Athena in its free tier: the data
# plane and the roles only.)
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
exec .venv/bin/gamepipe stack deploy "$@"
