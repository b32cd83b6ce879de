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
-- "f": fields}, the empty ones left out.
--
-- The existing events are copied one to a row.

-- +goose Up
CREATE TABLE security_events_rows (
    id            TEXT      NOT NULL,
    device        TEXT      NOT NULL,
    hub           TEXT      NOT NULL,
    source        TEXT      NOT NULL,
    name          TEXT      NOT NULL,
    snapshot_mode TEXT      NOT NULL,
    time          TIMESTAMP NOT NULL,
    max_time      TIMESTAMP NOT NULL,
    received      TIMESTAMP NOT NULL,
    events        INTEGER   NOT NULL,
    items         TEXT      NOT NULL
);
INSERT INTO security_events_rows (id, device, hub, source, name, snapshot_mode, time, max_time, received, events, items)
SELECT id, device, hub, source, name, snapshot_mode, time, time, received, 1,
       json_array(json_object('i', id, 't', replace(time, ' ', 'T'), 'l', replace(last_time, ' ', 'T'), 'c', count,
                              'ch', change, 'ra', remote_address, 'r', result, 'f', json(fields)))
FROM security_events;
DROP TABLE security_events;
ALTER TABLE security_events_rows RENAME TO security_events;
-- Dedup and the oldest-first reading; newest-first listings, overall, by
-- device and by name (also the top queries); retention by receive time.
CREATE UNIQUE INDEX security_events_time_id ON security_events (time, id);
CREATE INDEX security_events_max_time ON security_events (max_time);
CREATE INDEX security_events_device_max_time ON security_events (device, max_time);
CREATE INDEX security_events_name_max_time ON security_events (name, max_time);
CREATE INDEX security_events_received ON security_events (received);

-- +goose Down
CREATE TABLE security_events_items (
    id             TEXT      NOT NULL,
    device         TEXT      NOT NULL,
    hub            TEXT      NOT NULL,
    source         TEXT      NOT NULL,
    name           TEXT      NOT NULL,
    time           TIMESTAMP NOT NULL,
    last_time      TIMESTAMP NOT NULL,
    count          INTEGER   NOT NULL,
    snapshot_mode  TEXT      NOT NULL,
    change         TEXT      NOT NULL,
    remote_address TEXT      NOT NULL,
    result         TEXT      NOT NULL,
    fields         TEXT      NOT NULL,
    received       TIMESTAMP NOT NULL
);
INSERT INTO security_events_items
SELECT j.value ->> 'i', e.device, e.hub, e.source, e.name,
       replace(replace(j.value ->> 't', 'T', ' '), 'Z', '+00:00'),
       replace(replace(coalesce(j.value ->> 'l', j.value ->> 't'), 'T', ' '), 'Z', '+00:00'),
       j.value ->> 'c', e.snapshot_mode, coalesce(j.value ->> 'ch', ''), coalesce(j.value ->> 'ra', ''),
       coalesce(j.value ->> 'r', ''), coalesce(j.value -> 'f', '{}'), e.received
FROM security_events e, json_each(e.items) j;
DROP TABLE security_events;
ALTER TABLE security_events_items RENAME TO security_events;
CREATE INDEX security_events_device_time ON security_events (device, time);
CREATE INDEX security_events_name_time ON security_events (name, time);
CREATE UNIQUE INDEX security_events_time_id ON security_events (time, id);
CREATE INDEX security_events_received ON security_events (received);
