-- The security center: the event history, alerts, the devices' latest
-- snapshot state and agent statistics, the new-value baselines, response
-- policies and the record of response actions.
--
-- None of these tables has a foreign key to devices or hubs: the history
-- outlives a deleted device (the store deletes the device's state rows with
-- it), and the event writes, the hottest path, check nothing.

-- +goose Up
-- Deduplication is by (time, id): a redelivered event has both. A unique
-- index on the random id alone would take each insert to a random page, and
-- at tens of thousands of events per second every insert would write a page
-- of its own; (time, id) grows at its end like the other indexes, since
-- events arrive roughly in time order. It also orders the listing.
-- A rowid table, so that rows are appended.
-- remote_address and result are copies of two fields, for the overview's
-- top queries; fields holds all of them as a JSON object.
CREATE TABLE security_events (
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
-- Listing by device, by name (also the top queries and the detection
-- warm-up); retention by the server's receive time.
CREATE INDEX security_events_device_time ON security_events (device, time);
CREATE INDEX security_events_name_time ON security_events (name, time);
CREATE UNIQUE INDEX security_events_time_id ON security_events (time, id);
CREATE INDEX security_events_received ON security_events (received);

-- id: 32 hex digits whose first 12 are the creation time in milliseconds,
-- so id order is creation order. evidence is a JSON array.
CREATE TABLE alerts (
    id             TEXT      NOT NULL PRIMARY KEY,
    rule           TEXT      NOT NULL,
    title          TEXT      NOT NULL,
    severity       TEXT      NOT NULL,
    technique      TEXT      NOT NULL,
    remediation    TEXT      NOT NULL,
    device         TEXT      NOT NULL,
    hub            TEXT      NOT NULL,
    key            TEXT      NOT NULL,
    source_address TEXT      NOT NULL,
    first_seen     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    count          INTEGER   NOT NULL,
    evidence       TEXT      NOT NULL,
    status         TEXT      NOT NULL,
    status_reason  TEXT      NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
) WITHOUT ROWID;
-- One open alert per rule, device and key.
CREATE UNIQUE INDEX alerts_open ON alerts (rule, device, key) WHERE status IN ('new', 'active');
CREATE INDEX alerts_device ON alerts (device, id);
CREATE INDEX alerts_created_at ON alerts (created_at);

-- The latest snapshot of each event name per device, one row per item.
CREATE TABLE device_items (
    device     TEXT      NOT NULL,
    name       TEXT      NOT NULL,
    key        TEXT      NOT NULL,
    fields     TEXT      NOT NULL, -- JSON object
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (device, name, key)
) WITHOUT ROWID;

-- What each device's agent has sent, for absence detection and advice.
CREATE TABLE device_agent_seen (
    device     TEXT      NOT NULL PRIMARY KEY,
    hub        TEXT      NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    messages   INTEGER   NOT NULL,
    events     INTEGER   NOT NULL,
    bytes      INTEGER   NOT NULL
) WITHOUT ROWID;

-- The values the new-value detections have seen per device.
CREATE TABLE baselines (
    device     TEXT      NOT NULL,
    rule       TEXT      NOT NULL,
    value      TEXT      NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (device, rule, value)
) WITHOUT ROWID;

CREATE TABLE response_policies (
    name       TEXT      NOT NULL PRIMARY KEY,
    spec       TEXT      NOT NULL, -- JSON, kept as written
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
) WITHOUT ROWID;

CREATE TABLE response_actions (
    id       TEXT      NOT NULL PRIMARY KEY,
    device   TEXT      NOT NULL,
    policy   TEXT      NOT NULL,
    alert_id TEXT      NOT NULL,
    action   TEXT      NOT NULL,
    actor    TEXT      NOT NULL,
    reason   TEXT      NOT NULL,
    at       TIMESTAMP NOT NULL
) WITHOUT ROWID;
CREATE INDEX response_actions_device_at ON response_actions (device, at);
CREATE INDEX response_actions_at ON response_actions (at);

-- +goose Down
DROP TABLE response_actions;
DROP TABLE response_policies;
DROP TABLE baselines;
DROP TABLE device_agent_seen;
DROP TABLE device_items;
DROP TABLE alerts;
DROP TABLE security_events;
