-- Security events are stored several to a row: the payload items of one
-- agent event (a group) that lie within ten minutes of each other, up to
-- 64 to a row, as a JSON array. One row per item cost four B-tree inserts
-- per item and capped the center's pipeline well below its target; rows
-- of items cost them once per row.
--
-- A row's time is its earliest item's, max_time its latest's; id is the
-- earliest item's ID. Listings merge the items of the rows they read, in
-- the order of the items' times (the store keeps max_time - time within
-- ten minutes, which bounds how far a listing reads past a page).
--
-- Each item of items: {"i": ID, "t": time (RFC 3339), "l": last time when
-- it differs, "c": count, "ch": change, "ra": remote address, "r": result,
-- "f": fields}, the empty ones left out. items is text: only the server
-- reads it, and PostgreSQL need not parse it on the hot insert path.
--
-- The existing events are copied one to a row.

-- +goose Up
-- +goose StatementBegin
-- Times in items are RFC 3339 as Go writes them, year 0 included
-- (PostgreSQL's 1 BC), which PostgreSQL's own text form is not.
CREATE FUNCTION pg_temp.rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t < '0001-01-01 00:00:00+00' THEN '0000' ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY') END
        || rtrim(rtrim(to_char(t AT TIME ZONE 'UTC', '-MM-DD"T"HH24:MI:SS.US'), '0'), '.') || 'Z'
$$;
-- +goose StatementEnd
CREATE TABLE security_events_rows (
    id            text COLLATE "C" NOT NULL,
    device        text COLLATE "C" NOT NULL,
    hub           text COLLATE "C" NOT NULL,
    source        text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    snapshot_mode text COLLATE "C" NOT NULL,
    time          timestamptz NOT NULL,
    max_time      timestamptz NOT NULL,
    received      timestamptz NOT NULL,
    events        integer     NOT NULL,
    items         text        NOT NULL
);
INSERT INTO security_events_rows (id, device, hub, source, name, snapshot_mode, time, max_time, received, events, items)
SELECT id, device, hub, source, name, snapshot_mode, time, time, received, 1,
       json_build_array(json_build_object('i', id, 't', pg_temp.rfc3339(time), 'l', pg_temp.rfc3339(last_time), 'c', count, 'ch', change,
                                          'ra', remote_address, 'r', result, 'f', fields::json))::text
FROM security_events;
DROP TABLE security_events;
ALTER TABLE security_events_rows RENAME TO security_events;
-- Dedup and the oldest-first reading; newest-first listings, overall, by
-- device and by name (also the top queries); retention by receive time.
ALTER TABLE security_events ADD PRIMARY KEY (time, id);
CREATE INDEX security_events_max_time ON security_events (max_time);
CREATE INDEX security_events_device_max_time ON security_events (device, max_time);
CREATE INDEX security_events_name_max_time ON security_events (name, max_time);
CREATE INDEX security_events_received ON security_events (received);

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION pg_temp.from_rfc3339(s text) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN left(s, 4) = '0000' THEN ('0001' || substr(s, 5) || ' BC')::timestamptz ELSE s::timestamptz END
$$;
-- +goose StatementEnd
CREATE TABLE security_events_items (
    id             text COLLATE "C" NOT NULL,
    device         text COLLATE "C" NOT NULL,
    hub            text COLLATE "C" NOT NULL,
    source         text COLLATE "C" NOT NULL,
    name           text COLLATE "C" NOT NULL,
    time           timestamptz NOT NULL,
    last_time      timestamptz NOT NULL,
    count          bigint      NOT NULL,
    snapshot_mode  text COLLATE "C" NOT NULL,
    change         text COLLATE "C" NOT NULL,
    remote_address text COLLATE "C" NOT NULL,
    result         text COLLATE "C" NOT NULL,
    fields         text NOT NULL,
    received       timestamptz NOT NULL
);
INSERT INTO security_events_items
SELECT j ->> 'i', e.device, e.hub, e.source, e.name, pg_temp.from_rfc3339(j ->> 't'),
       pg_temp.from_rfc3339(coalesce(j ->> 'l', j ->> 't')), (j ->> 'c')::bigint, e.snapshot_mode,
       coalesce(j ->> 'ch', ''), coalesce(j ->> 'ra', ''), coalesce(j ->> 'r', ''),
       coalesce(j -> 'f', '{}'::jsonb)::text, e.received
FROM security_events e, jsonb_array_elements(e.items::jsonb) j;
DROP TABLE security_events;
ALTER TABLE security_events_items RENAME TO security_events;
ALTER TABLE security_events ADD PRIMARY KEY (time, id);
CREATE INDEX security_events_device_time ON security_events (device, time);
CREATE INDEX security_events_name_time ON security_events (name, time);
CREATE INDEX security_events_received ON security_events (received);
