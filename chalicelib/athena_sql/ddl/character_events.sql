-- Table character_events: Gameplay progress: treasures found, enemy attacks, enemies defeated.
-- Event types: find_treasure, enemy_attack, defeat_enemy. Partitioned by dt = the event's UTC date (YYYY-MM-DD).
-- The LOCATION placeholder tables_root is replaced by s3://<data bucket>/<data prefix> (chalicelib.query.sql_files.render_ddl).
CREATE EXTERNAL TABLE IF NOT EXISTS character_events (
    event_ts           timestamp,
    userid             string,
    host               string,
    description        string,
    event_type         string,
    event_id           string,
    received_at        timestamp,
    application_id     string,
    compacted          boolean
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '${tables_root}/character_events/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
