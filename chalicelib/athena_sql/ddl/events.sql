-- Table events: Every valid event with all its fields (payload = the JSON as received), for replay.
-- Event types: purchase_sword, purchase_shield, purchase_potion, join_guild, find_treasure, enemy_attack, defeat_enemy, take_potion, level_up. Partitioned by dt = the event's UTC date (YYYY-MM-DD).
-- The LOCATION placeholder tables_root is replaced by s3://<data bucket>/<data prefix> (chalicelib.query.sql_files.render_ddl).
CREATE EXTERNAL TABLE IF NOT EXISTS events (
    event_id           string,
    event_type         string,
    userid             string,
    event_ts           timestamp,
    received_at        timestamp,
    host               string,
    user_agent         string,
    app_version        string,
    payload            string,
    application_id     string,
    session_id         string,
    platform           string
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '${tables_root}/events/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
