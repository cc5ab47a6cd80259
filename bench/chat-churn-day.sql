-- One day of traffic on the database bench/gen-chat.sh builds, for the
-- incremental-backup benchmarks:
--   - new visitors (~0.5%) and new conversations over the last 24 hours, with
--     about 1% new messages (ids from the sequence, in time order);
--   - about 0.1% of the messages edited: some of the latest 2% get a new body;
--   - agents close yesterday's open conversations;
--   - the retention run deletes the oldest 0.5% of the messages;
--   - then a CHECKPOINT, so the day is in the data files when a backup starts.
-- No VACUUM: a day of this stays under autovacuum's default thresholds.
--
--   psql -X -q -d DB -f bench/chat-churn-day.sql
--
-- Counts are taken from the id range (ids are dense and follow time), which
-- reads two index pages instead of the whole table.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET work_mem = '256MB';

SELECT max(id) - min(id) + 1 AS messages, max(id) AS max_message_id FROM messages \gset
SELECT max(id) AS max_visitor_id, max(id) / 200 AS new_visitors FROM visitors \gset
SELECT max(id) AS max_conversation_id,
       -- about 11 messages a conversation
       greatest(1, :messages / 100 / 11) AS new_conversations,
       (SELECT count(*) FROM chat_phrases) AS phrases
FROM conversations \gset

BEGIN;

INSERT INTO visitors (org_id, external_ref, name, email, locale, user_agent, first_seen_at, last_seen_at)
SELECT org_id, gen_random_uuid(), name, email, locale, user_agent, seen, seen
FROM (SELECT org_id, name, email, locale, user_agent,
             now() - interval '1 day' * random() AS seen
      FROM visitors
      WHERE id IN (SELECT 1 + floor(random() * :max_visitor_id)::bigint
                   FROM generate_series(1, :new_visitors))) AS v
ORDER BY seen;

CREATE TEMP TABLE day_conversations ON COMMIT DROP AS
WITH ins AS (
  INSERT INTO conversations (org_id, visitor_id, agent_id, channel, status, subject, message_count,
                             created_at, closed_at)
  SELECT v.org_id, v.id,
         CASE WHEN random() < 0.9 THEN (v.org_id - 1) * 6 + 1 + floor(random() * 6)::int END,
         (ARRAY['widget', 'widget', 'widget', 'widget', 'widget', 'widget', 'email', 'email', 'api'])[1 + floor(random() * 9)::int],
         'open', NULL, c.n, c.at, NULL
  FROM (SELECT 1 + floor(random() * (:max_visitor_id + :new_visitors))::bigint AS vid,
               1 + floor(power(random(), 1.6) * 26)::int AS n,
               now() - interval '1 day' * random() AS at
        FROM generate_series(1, :new_conversations) OFFSET 0) AS c
  JOIN visitors v ON v.id = c.vid
  ORDER BY c.at
  RETURNING id, org_id, visitor_id, agent_id, message_count, created_at)
SELECT * FROM ins;

UPDATE visitors SET last_seen_at = c.created_at
FROM day_conversations c WHERE visitors.id = c.visitor_id;

-- The day's messages, put together from the phrase pool as gen-chat.sh does.
INSERT INTO messages (org_id, conversation_id, author_kind, agent_id, body, created_at)
SELECT m.org_id, m.conversation_id, m.kind, CASE WHEN m.kind = 'agent' THEN m.agent_id END,
       p1.txt || coalesce(' ' || p2.txt, '') || coalesce(' ' || p3.txt, ''), m.created_at
FROM (SELECT c.org_id, c.id AS conversation_id, c.agent_id,
             CASE WHEN k = 1 AND random() < 0.3 THEN 'bot'
                  WHEN random() < 0.02 THEN 'system'
                  WHEN c.agent_id IS NOT NULL AND k % 2 = 0 THEN 'agent'
                  ELSE 'visitor' END AS kind,
             1 + floor(random() * :phrases)::int AS s1,
             CASE WHEN random() < 0.40 THEN 1 + floor(random() * :phrases)::int END AS s2,
             CASE WHEN random() < 0.15 THEN 1 + floor(random() * :phrases)::int END AS s3,
             c.created_at + (k - 1) * interval '45 seconds' + random() * interval '30 seconds' AS created_at
      FROM day_conversations c, generate_series(1, c.message_count) AS k
      OFFSET 0) AS m
JOIN chat_phrases p1 ON p1.id = m.s1
LEFT JOIN chat_phrases p2 ON p2.id = m.s2
LEFT JOIN chat_phrases p3 ON p3.id = m.s3
ORDER BY m.created_at;

-- Edits: one in twenty of the latest 2% of the messages (before today's).
UPDATE messages SET body = p.txt || ' (edited)', edited_at = now()
FROM (SELECT id AS message_id, 1 + floor(random() * :phrases)::int AS pid
      FROM messages
      WHERE id > :max_message_id - :messages / 50 AND id <= :max_message_id AND random() < 0.05
      OFFSET 0) AS e
JOIN chat_phrases p ON p.id = e.pid
WHERE messages.id = e.message_id;

UPDATE conversations SET status = 'closed', closed_at = created_at + interval '4 hours' * random()
WHERE status <> 'closed' AND created_at < now() - interval '1 day';

-- Retention: the oldest 0.5%.
DELETE FROM messages
WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT :messages / 200);

COMMIT;
CHECKPOINT;
