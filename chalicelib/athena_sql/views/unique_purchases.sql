-- View: purchase_events with each event_id once per day (dt), for the duplicate-sensitive
-- sums (questions/q1, reports/player_purchases). Merge-on-read: a day whose rows are all
-- compacted holds each event_id once and is read as is; a day that also has live rows
-- (compacted IS NOT TRUE: new batches, late resends) keeps each event_id's first-received
-- copy, the copy compaction keeps too. A resend keeps its event_ts, so both copies share
-- the dt. dt is a grouping key of the live branch, so a filter on the view's dt (the
-- reports' dt <= :as_of) reaches both scans and prunes partitions. application_id is kept
-- (the first-received copy's) so a statement can ask about one application.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM purchase_events
    WHERE compacted IS NOT TRUE
)
SELECT userid,
       item_type,
       amount_purchased,
       price,
       application_id,
       dt
FROM purchase_events
WHERE compacted IS TRUE
  AND dt NOT IN (SELECT dt FROM live_days)
UNION ALL
SELECT min_by(userid, received_at) AS userid,
       min_by(item_type, received_at) AS item_type,
       min_by(amount_purchased, received_at) AS amount_purchased,
       min_by(price, received_at) AS price,
       min_by(application_id, received_at) AS application_id,
       dt
FROM purchase_events
WHERE dt IN (SELECT dt FROM live_days)
GROUP BY event_id, dt
