-- Question 5: Which player used the most potions?
-- Answer: every player tied for the most take_potion events (ordered by userid).
-- count(DISTINCT event_id) counts a resent event once.
WITH potion_counts AS (
    SELECT userid,
           count(DISTINCT event_id) AS potions
    FROM character_stats
    WHERE event_type = 'take_potion'
    GROUP BY userid
)
SELECT userid,
       potions
FROM potion_counts
WHERE potions = (SELECT max(potions) FROM potion_counts)
ORDER BY userid
