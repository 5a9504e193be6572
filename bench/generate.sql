-- Grows the Synapse-shaped fixture to benchmark size, with the table mix of real homeservers
-- (state_groups_state, event_json, events, event_edges, event_auth, room_memberships dominate) and
-- realistic JSON event bodies. Run after fixtures/synapse_sample.sql. Variable: events (how many).
SET client_min_messages = error;
SET synchronous_commit = off;
-- The id of the e-th event. Events refer to real events, as on a homeserver: auth_events are the room's
-- first three events (its create, power levels and join rules), prev_events the room's previous event.
-- (Room r holds the events e with e % 2000 = r - 1.)
CREATE FUNCTION pg_temp.ev(bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT '$' || encode(sha256($1::text::bytea), 'base64') $$;

CREATE TABLE event_edges (event_id text NOT NULL, prev_event_id text NOT NULL, room_id text, is_state boolean DEFAULT false NOT NULL);
CREATE TABLE event_auth (event_id text NOT NULL, auth_id text NOT NULL, room_id text NOT NULL);

INSERT INTO rooms SELECT format('!bench%s:example.org', r), false, '@user1:example.org', '10', true FROM generate_series(1, 2000) r;

INSERT INTO events (topological_ordering, event_id, type, room_id, processed, outlier, depth, origin_server_ts,
  received_ts, sender, contains_url, instance_name, stream_ordering, state_key)
SELECT e, pg_temp.ev(e), CASE WHEN e % 20 = 0 THEN 'm.room.member' ELSE 'm.room.message' END,
  format('!bench%s:example.org', 1 + e % 2000), true, false, e / 2000, 1700000000000 + e * 37,
  1700000000000 + e * 37 + 15, format('@user%s:example.org', 1 + e % 20), false, 'master', 1000 + e,
  CASE WHEN e % 20 = 0 THEN format('@user%s:example.org', 1 + e % 20) END
  FROM generate_series(1, :events) e;

INSERT INTO event_json
SELECT event_id, room_id, '{"stream_ordering":' || stream_ordering || ',"txn_id":"m' || stream_ordering || '"}',
  json_build_object(
    'auth_events', json_build_array(pg_temp.ev((stream_ordering - 1000) % 2000 + 2000), pg_temp.ev((stream_ordering - 1000) % 2000 + 4000),
                                    pg_temp.ev((stream_ordering - 1000) % 2000 + 6000)),
    'prev_events', json_build_array(pg_temp.ev(greatest(stream_ordering - 3000, 1))),
    'type', type, 'room_id', room_id, 'sender', sender, 'depth', depth, 'origin_server_ts', origin_server_ts,
    'content', json_build_object('msgtype', 'm.text',
      'body', 'message ' || stream_ordering || ' ' || repeat(substr(md5(event_id), 1, 8) || ' ', (1 + stream_ordering % 12)::int)),
    'hashes', json_build_object('sha256', encode(sha256(event_id::bytea), 'base64')),
    'signatures', json_build_object('example.org', json_build_object('ed25519:a_bcde', encode(sha512(event_id::bytea), 'base64'))),
    'unsigned', json_build_object('age_ts', origin_server_ts))::text, 3
  FROM events WHERE stream_ordering > 1000;

INSERT INTO event_edges SELECT event_id, pg_temp.ev(greatest(stream_ordering - 3000, 1)), room_id, false FROM events WHERE stream_ordering > 1000;
INSERT INTO event_auth SELECT event_id, pg_temp.ev((stream_ordering - 1000) % 2000 + 2000 * k), room_id FROM events, generate_series(1, 3) k WHERE stream_ordering > 1000;
INSERT INTO state_groups_state SELECT stream_ordering / 4, room_id, 'm.room.member', format('@user%s:example.org', k), event_id
  FROM events, generate_series(1, 2) k WHERE stream_ordering > 1000;
INSERT INTO room_memberships SELECT event_id, state_key, sender, room_id, 'join', 0, NULL, NULL, stream_ordering
  FROM events WHERE type = 'm.room.member' AND stream_ordering > 1000;

CREATE INDEX ev_edges_id ON event_edges (event_id);
CREATE INDEX ev_edges_prev_id ON event_edges (prev_event_id);
CREATE INDEX evauth_edges_id ON event_auth (event_id);
CREATE INDEX room_memberships_room_id ON room_memberships (room_id);
ANALYZE;
