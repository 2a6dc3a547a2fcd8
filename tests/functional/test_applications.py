"""Applications in DynamoDB (moto) and ``gamepipe apps``: a key shown once, stored as a hash,
revoked and rotated; mistakes as short messages."""

from __future__ import annotations

import json
from typing import Any

import boto3
from click.testing import CliRunner

from chalicelib.applications import HEADER, ApplicationStore, hash_secret, parse_key
from chalicelib.auth import Authorizer
from chalicelib.settings import Settings
from gamepipe.cli import main
from gamepipe.stack.resources import ensure_applications_table

TABLE = Settings().applications_table


def _store() -> ApplicationStore:
    client = boto3.client("dynamodb", region_name="us-east-1")
    ensure_applications_table(client, TABLE)
    return ApplicationStore(client, TABLE)


def _apps(*args: str) -> Any:
    return CliRunner().invoke(main, ["apps", *args])


def test_created_key_is_stored_only_as_its_hash(moto_aws: None) -> None:
    # GIVEN the applications table WHEN an application is created
    store = _store()
    app, key = store.create("dragon quest", allow_backfill=True)
    # THEN the item holds the hash of the key's secret, never the key
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"application_id": {"S": app.application_id}}
    )["Item"]
    _, secret = parse_key(key) or ("", "")
    assert item["key_hash"] == {"S": hash_secret(secret)}
    assert key not in json.dumps(item) and secret not in json.dumps(item)
    assert item["name"] == {"S": "dragon quest"} and item["allow_backfill"] == {"BOOL": True}
    # AND the store reads it back as it was written
    assert store.get(app.application_id) == app and store.list() == [app]


def test_revoke_and_rotate_change_what_the_authorizer_accepts(moto_aws: None) -> None:
    # GIVEN two applications and an authorizer without a cache (each check reads the table)
    store = _store()
    (one, key1), (two, key2) = store.create("one"), store.create("two")
    auth = Authorizer(store, 0)
    assert auth.identify(key1).principal and auth.identify(key2).principal
    # WHEN one is revoked and the other's key rotated
    revoked = store.revoke(one.application_id)
    rotated, key3 = store.rotate(two.application_id)
    # THEN the revoked key, and the old key of the rotated one, are denied; the new key works
    assert revoked.revoked_at and not revoked.active
    assert auth.identify(key1).reason == "revoked"
    assert auth.identify(key2).reason == "wrong key (rotated?)"
    assert auth.identify(key3).principal.application_id == two.application_id  # type: ignore[union-attr]
    assert rotated.rotated_at and rotated.key_hint == key3[-4:]


def test_apps_cli_create_json_list_rotate_revoke_backfill(moto_aws: None) -> None:
    # GIVEN the table WHEN `gamepipe apps create NAME --format json` runs
    _store()
    created = _apps("create", "space game", "--format", "json")
    # THEN it prints exactly the application, its key and the header that carries it
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert set(data) == {"application_id", "api_key", "header"}
    assert data["header"] == HEADER == "Authorization"
    assert parse_key(data["api_key"])[0] == data["application_id"]  # type: ignore[index]
    app_id = data["application_id"]
    # AND list shows it without the key; backfill, rotate and revoke act on it
    listed = json.loads(_apps("list", "--format", "json").output)
    assert [a["application_id"] for a in listed] == [app_id]
    assert data["api_key"] not in _apps("list").output
    assert _apps("backfill", app_id, "on").exit_code == 0
    rotated = _apps("rotate", app_id)
    assert rotated.exit_code == 0 and "API key (shown once" in rotated.output
    assert _apps("revoke", app_id).exit_code == 0
    (row,) = json.loads(_apps("list", "--format", "json").output)
    assert row["status"] == "revoked" and row["allow_backfill"] is True and row["rotated_at"]


def test_apps_cli_mistakes_are_short_messages(moto_aws: None) -> None:
    # GIVEN no table at all WHEN listing THEN one message naming the fix
    missing = _apps("list")
    assert missing.exit_code == 1 and "GAMEPIPE_APPLICATIONS_TABLE" in missing.output
    assert "Traceback" not in missing.output
    # GIVEN the table WHEN revoking an unknown application or rotating a revoked one
    store = _store()
    app, _ = store.create("old")
    store.revoke(app.application_id)
    unknown = _apps("revoke", "00000000-0000-4000-8000-000000000000")
    rotate = _apps("rotate", app.application_id)
    # THEN each is one line saying what to do
    assert unknown.exit_code == 1 and "gamepipe apps list" in unknown.output
    assert rotate.exit_code == 1 and "create a new one" in rotate.output


def test_on_aws_each_application_gets_a_key_in_the_usage_plan(moto_aws: None) -> None:
    # GIVEN a stack's usage plan (GAMEPIPE_USAGE_PLAN_ID, from the stack's outputs)
    from gamepipe.applications import create_application

    apigateway = boto3.client("apigateway")
    plan = apigateway.create_usage_plan(name="gamepipe-dev-applications")["id"]
    _store()
    # WHEN an application is created
    app, key = create_application(Settings(), "dragon quest", usage_plan_id=plan)
    # THEN the plan holds one key whose value is the application's usage key...
    (plan_key,) = apigateway.get_usage_plan_keys(usagePlanId=plan)["items"]
    assert plan_key["value"] == app.usage_key and len(str(app.usage_key)) >= 20
    # ...which the authorizer hands to API Gateway as the request's usage identifier
    verdict = Authorizer(_store(), 0).identify(key)
    assert verdict.principal is not None and verdict.principal.usage_key == app.usage_key
    # AND the client's key is not the usage key
    assert app.usage_key not in key
