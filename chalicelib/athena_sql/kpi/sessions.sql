-- KPI: sessions per UTC day (dt) in [:start, :end] ('YYYY-MM-DD'): distinct session_id
-- of the day's valid events (a session that runs past midnight counts on both days;
-- events without one count in no session), the day's active players and sessions per
-- active player. Days with no events are omitted. Duplicate-insensitive (distinct counts).
WITH days AS (
    SELECT dt,
           count(DISTINCT json_extract_scalar(payload, '$.session_id')) AS sessions,
           count(DISTINCT userid) AS dau
    FROM events
    WHERE dt BETWEEN :start AND :end
    GROUP BY dt
)
SELECT dt,
       sessions,
       dau,
       CAST(sessions AS double) / dau AS sessions_per_dau
FROM days
ORDER BY dt
