-- Question 6: Which player found the most treasures?
-- Answer: every player tied for the most find_treasure events (ordered by userid).
-- count(DISTINCT event_id) counts a resent event once.
WITH treasure_counts AS (
    SELECT userid,
           count(DISTINCT event_id) AS treasures
    FROM character_events
    WHERE event_type = 'find_treasure'
    GROUP BY userid
)
SELECT userid,
       treasures
FROM treasure_counts
WHERE treasures = (SELECT max(treasures) FROM treasure_counts)
ORDER BY userid
