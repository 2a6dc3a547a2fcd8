-- Table character_stats: The player's stats after level ups, potions and (when reported) enemy attacks.
-- Event types: level_up, take_potion, enemy_attack. Partitioned by dt = the event's UTC date (YYYY-MM-DD).
-- The LOCATION placeholder tables_root is replaced by s3://<data bucket>/<data prefix> (chalicelib.query.sql_files.render_ddl).
CREATE EXTERNAL TABLE IF NOT EXISTS character_stats (
    event_ts           timestamp,
    userid             string,
    host               string,
    event_type         string,
    description        string,
    level              bigint,
    attack             bigint,
    defense            bigint,
    health             bigint,
    event_id           string,
    received_at        timestamp,
    application_id     string,
    compacted          boolean
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '${tables_root}/character_stats/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
