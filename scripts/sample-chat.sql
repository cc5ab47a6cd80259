-- sample-chat.sql — a sample database for the chat-widget SaaS in PRODUCT.md:
-- organizations (tenants, with their message-retention settings), visitors,
-- conversations and messages, with the indexes that team added for its hot
-- queries. Used by scripts/demo and handy for trying pgkeep by hand:
--
--   createdb chat && psql -X -q -d chat -v scale=1 -f scripts/sample-chat.sql
--
-- `scale` (default 1) multiplies every row count: scale 1 gives 20
-- organizations, 2,000 visitors, 10,000 conversations and about 100,000
-- messages (roughly 25 MB with indexes) in a few seconds. The data is random
-- but reproducible (fixed seed). The script replaces its four tables, so it
-- can be run again on the same database.

\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif

SET client_min_messages = warning;
-- Random choices run in one session; a fixed seed makes every run build the
-- same data, which keeps benchmarks and demo numbers comparable.
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.4242) \g /dev/null

BEGIN;

DROP TABLE IF EXISTS messages, conversations, visitors, organizations CASCADE;

CREATE TABLE organizations (
  id                      serial PRIMARY KEY,
  name                    text NOT NULL,
  "messageRetentionDays"  int NOT NULL DEFAULT 365,   -- 0 = keep forever
  "hardDeleteOnRetention" boolean NOT NULL DEFAULT false,
  "lastRetentionRunAt"    timestamptz
);

CREATE TABLE visitors (
  id           serial PRIMARY KEY,
  "orgId"      int NOT NULL,
  name         text,
  email        text,
  "lastSeenAt" timestamptz
);

CREATE TABLE conversations (
  id          serial PRIMARY KEY,
  "orgId"     int NOT NULL,
  "visitorId" int NOT NULL,
  status      text NOT NULL DEFAULT 'open',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
  id               bigserial PRIMARY KEY,
  "orgId"          int NOT NULL,
  "conversationId" int NOT NULL,
  sender           text NOT NULL,
  content          text NOT NULL,
  "timestamp"      timestamptz NOT NULL DEFAULT now()
);

-- Organizations: mostly the defaults, some with shorter retention, a few that
-- keep everything (0) or hard-delete instead of redacting.
INSERT INTO organizations (id, name, "messageRetentionDays", "hardDeleteOnRetention", "lastRetentionRunAt")
SELECT g,
       (ARRAY['Acme', 'Bluebird', 'Cobalt', 'Driftwood', 'Evergreen', 'Foxglove', 'Granite',
              'Harbor', 'Ironbark', 'Juniper', 'Kestrel', 'Lumen', 'Maple', 'Northwind',
              'Orchid', 'Pinecone', 'Quartz', 'Riverbend', 'Saffron', 'Tidewater'])[1 + (g - 1) % 20]
         || ' ' ||
       (ARRAY['Labs', 'Retail', 'Health', 'Travel', 'Software', 'Logistics', 'Studio',
              'Finance', 'Outdoors', 'Bakery', 'Insurance', 'Academy'])[1 + ((g - 1) / 20 + g * 7) % 12]
         || CASE WHEN g > 20 THEN ' ' || (g / 20 + 1)::text ELSE '' END,
       CASE WHEN g % 10 = 3 THEN 30 WHEN g % 10 = 6 THEN 90 WHEN g % 10 = 9 THEN 0 ELSE 365 END,
       g % 7 = 4,
       CASE WHEN g % 4 = 0 THEN NULL
            ELSE date_trunc('day', now()) - interval '1 day' + interval '2 hours' END
FROM generate_series(1, 20 * :scale) AS g;

-- Visitors: a random organization each, names and addresses from short lists.
INSERT INTO visitors (id, "orgId", name, email, "lastSeenAt")
SELECT g, org, first || ' ' || last,
       CASE WHEN g % 5 = 0 THEN NULL  -- anonymous visitors leave no address
            ELSE lower(first) || '.' || lower(last) || g::text || '@' || domain END,
       now() - random() * interval '120 days'
FROM (SELECT g,
             1 + floor(random() * 20 * :scale)::int AS org,
             (ARRAY['Ana', 'Ben', 'Chloe', 'David', 'Elena', 'Farid', 'Grace', 'Hiro', 'Ines',
                    'Jonas', 'Kemal', 'Lena', 'Marco', 'Nadia', 'Omar', 'Priya', 'Quinn', 'Rosa',
                    'Sven', 'Tara', 'Uma', 'Victor', 'Wen', 'Yusuf', 'Zoe'])[1 + floor(random() * 25)::int] AS first,
             (ARRAY['Almeida', 'Brown', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad',
                    'Ivanova', 'Jensen', 'Kowalski', 'Lopez', 'Moreau', 'Nakamura', 'Okafor', 'Patel',
                    'Rossi', 'Schmidt', 'Tanaka', 'Novak', 'Weber', 'Yilmaz'])[1 + floor(random() * 22)::int] AS last,
             (ARRAY['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'icloud.com',
                    'example.org', 'company.io', 'mail.de'])[1 + floor(random() * 8)::int] AS domain
      FROM generate_series(1, 2000 * :scale) AS g) AS v;

-- Conversations: a random visitor each, in the visitor's organization, spread
-- over the last ~400 days so retention policies have something to remove.
INSERT INTO conversations (id, "orgId", "visitorId", status, created_at)
SELECT c.g, v."orgId", v.id,
       CASE WHEN c.age < interval '2 days' AND c.r < 0.5 THEN 'open'
            WHEN c.r < 0.08 THEN 'pending'
            WHEN c.r < 0.15 THEN 'archived'
            ELSE 'closed' END,
       now() - c.age
FROM (SELECT g, random() AS r,
             1 + floor(random() * 2000 * :scale)::int AS vid,
             -- more recent conversations than old ones
             power(random(), 1.6) * interval '400 days' AS age
      FROM generate_series(1, 10000 * :scale) AS g) AS c
JOIN visitors v ON v.id = c.vid;

-- Messages: 1 to 19 per conversation (about 10 on average), alternating
-- visitor and agent with an occasional bot or system line, written as 1 to 5
-- sentences put together from word lists. Inserted in time order, as an
-- application would, so ids grow with "timestamp".
INSERT INTO messages ("orgId", "conversationId", sender, content, "timestamp")
SELECT m."orgId", m.conv, m.sender,
       (SELECT string_agg(upper(left(raw, 1)) || substr(raw, 2), ' ')
        FROM (SELECT w.opener[1 + floor(random() * cardinality(w.opener))::int]
                     || w.subject[1 + floor(random() * cardinality(w.subject))::int] || ' '
                     || w.verb[1 + floor(random() * cardinality(w.verb))::int] || ' '
                     || replace(w.object[1 + floor(random() * cardinality(w.object))::int],
                                '#N', '#' || (10000 + floor(random() * 90000)::int)::text)
                     || w.tail[1 + floor(random() * cardinality(w.tail))::int]
                     || w.stop[1 + floor(random() * cardinality(w.stop))::int] AS raw
              FROM generate_series(1, m.sentences) AS s) AS sentences) AS content,
       m.ts
FROM (SELECT c."orgId", c.id AS conv,
             CASE WHEN k = 1 AND random() < 0.3 THEN 'bot'
                  WHEN random() < 0.02 THEN 'system'
                  WHEN k % 2 = 1 THEN 'visitor'
                  ELSE 'agent' END AS sender,
             -- mostly short chat lines, now and then a long explanation
             1 + floor(power(random(), 2.5) * 5)::int AS sentences,
             c.created_at + (k - 1) * interval '40 seconds' + random() * interval '3 minutes' AS ts
      FROM conversations c,
           LATERAL generate_series(1, 1 + floor(random() * 19 + 0 * c.id)::int) AS k) AS m,
     (SELECT
        ARRAY['', '', '', '', 'Hi, ', 'Hello, ', 'Thanks, ', 'Sorry, ', 'Quick question: ',
              'Just checking, ', 'Also, ', 'Okay, ', 'Great, ', 'Hmm, ', 'By the way, ',
              'Good morning, ', 'Unfortunately ', 'Actually ', 'As far as I can see ', 'Right now '] AS opener,
        ARRAY['I', 'we', 'my colleague', 'the customer', 'our team', 'the invoice', 'the order',
              'my account', 'the app', 'the widget', 'the checkout page', 'your support team',
              'the new plan', 'the delivery', 'the refund', 'the password reset email',
              'the mobile version', 'the export', 'this feature', 'the integration'] AS subject,
        ARRAY['cannot find', 'would like to change', 'already updated', 'can still see',
              'needed help with', 'just received', 'did not get', 'wanted to cancel',
              'got charged twice for', 'tried to reset', 'forwarded', 'will check', 'escalated',
              'fixed', 'will look at', 'can confirm', 'noticed a problem with', 'asked about',
              'could not open', 'should now show'] AS verb,
        ARRAY['the billing details', 'my subscription', 'the shipping address', 'that ticket',
              'the error message', 'the last payment', 'the settings page', 'two-factor login',
              'the attachment', 'the tracking number', 'our API key', 'the discount code',
              'the monthly report', 'the login link', 'the chat history', 'the product page',
              'a duplicate charge', 'the team invitation', 'the Android app', 'the CSV export',
              'order #N', 'invoice #N', 'the annual plan'] AS object,
        ARRAY['', '', '', ' today', ' yesterday', ' again', ' since Monday', ' this morning',
              ' on my phone', ' in Firefox', ' for our whole team', ' before the weekend',
              ' after the last update', ' as soon as possible', ' right away',
              ' in the dashboard', ' once more'] AS tail,
        ARRAY['.', '.', '.', '.', '!', '?', '?', '...', ' :)'] AS stop) AS w
ORDER BY m.ts;

-- Indexes (the hot queries) and foreign keys, built after the load: faster
-- than maintaining them row by row.
CREATE INDEX messages_org_conversation_timestamp_idx
  ON messages ("orgId", "conversationId", "timestamp" DESC);
CREATE INDEX visitors_org_last_seen_idx ON visitors ("orgId", "lastSeenAt");
ALTER TABLE visitors ADD FOREIGN KEY ("orgId") REFERENCES organizations (id);
ALTER TABLE conversations ADD FOREIGN KEY ("orgId") REFERENCES organizations (id),
                          ADD FOREIGN KEY ("visitorId") REFERENCES visitors (id);
ALTER TABLE messages ADD FOREIGN KEY ("orgId") REFERENCES organizations (id),
                     ADD FOREIGN KEY ("conversationId") REFERENCES conversations (id);

-- Explicit ids were used above; move the sequences past them.
SELECT setval(pg_get_serial_sequence('organizations', 'id'), (SELECT max(id) FROM organizations)),
       setval(pg_get_serial_sequence('visitors', 'id'), (SELECT max(id) FROM visitors)),
       setval(pg_get_serial_sequence('conversations', 'id'), (SELECT max(id) FROM conversations)) \g /dev/null

COMMIT;

ANALYZE organizations, visitors, conversations, messages;

SELECT (SELECT count(*) FROM organizations) AS organizations,
       (SELECT count(*) FROM visitors) AS visitors,
       (SELECT count(*) FROM conversations) AS conversations,
       (SELECT count(*) FROM messages) AS messages,
       pg_size_pretty(pg_total_relation_size('organizations') + pg_total_relation_size('visitors')
                      + pg_total_relation_size('conversations') + pg_total_relation_size('messages')) AS size;
