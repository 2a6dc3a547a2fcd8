-- Table guild_events: Guild joins; a player's latest join is their current guild.
-- Event types: join_guild. Partitioned by dt = the event's UTC date (YYYY-MM-DD).
-- The LOCATION placeholder tables_root is replaced by s3://<data bucket>/<data prefix> (chalicelib.query.sql_files.render_ddl).
CREATE EXTERNAL TABLE IF NOT EXISTS guild_events (
    event_ts           timestamp,
    userid             string,
    host               string,
    event_type         string,
    description        string,
    guild_name         string,
    event_id           string,
    received_at        timestamp,
    application_id     string,
    compacted          boolean
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '${tables_root}/guild_events/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
