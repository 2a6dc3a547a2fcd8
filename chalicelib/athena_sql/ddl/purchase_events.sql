-- Table purchase_events: Purchases of swords, shields and potions.
-- Event types: purchase_sword, purchase_shield, purchase_potion. Partitioned by dt = the event's UTC date (YYYY-MM-DD).
-- The LOCATION placeholder tables_root is replaced by s3://<data bucket>/<data prefix> (chalicelib.query.sql_files.render_ddl).
CREATE EXTERNAL TABLE IF NOT EXISTS purchase_events (
    event_ts           timestamp,
    userid             string,
    host               string,
    event_type         string,
    item_type          string,
    description        string,
    amount_purchased   bigint,
    price              bigint,
    event_id           string,
    received_at        timestamp,
    application_id     string,
    compacted          boolean
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION '${tables_root}/purchase_events/'
TBLPROPERTIES ('parquet.compression' = 'SNAPPY')
