-- The security center: the event history, alerts, the devices' latest
-- snapshot state and agent statistics, the new-value baselines, response
-- policies and the record of response actions.
--
-- None of these tables has a foreign key to devices or hubs: the history
-- outlives a deleted device (the store deletes the device's state rows with
-- it), and the event writes, the hottest path, check nothing.

-- +goose Up
-- Names and keys are COLLATE "C" so that ORDER BY and keyset comparisons
-- are bytewise, as in SQLite and Go.
-- Deduplication is by (time, id): a redelivered event has both. A unique
-- index on the random id alone would take each insert to a random page;
-- (time, id) grows at its end like the other indexes, since events arrive
-- roughly in time order. It also orders the listing.
-- remote_address and result are copies of two fields, for the overview's
-- top queries; fields holds all of them as a JSON object.
CREATE TABLE security_events (
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
    received       timestamptz NOT NULL,
    PRIMARY KEY (time, id)
);
-- Listing by device, by name (also the top queries and the detection
-- warm-up); retention by the server's receive time.
CREATE INDEX security_events_device_time ON security_events (device, time);
CREATE INDEX security_events_name_time ON security_events (name, time);
CREATE INDEX security_events_received ON security_events (received);

-- id: 32 hex digits whose first 12 are the creation time in milliseconds,
-- so id order is creation order. evidence is a JSON array.
CREATE TABLE alerts (
    id             text COLLATE "C" PRIMARY KEY,
    rule           text COLLATE "C" NOT NULL,
    title          text NOT NULL,
    severity       text COLLATE "C" NOT NULL,
    technique      text COLLATE "C" NOT NULL,
    remediation    text NOT NULL,
    device         text COLLATE "C" NOT NULL,
    hub            text COLLATE "C" NOT NULL,
    key            text COLLATE "C" NOT NULL,
    source_address text COLLATE "C" NOT NULL,
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    count          bigint      NOT NULL,
    evidence       text NOT NULL,
    status         text COLLATE "C" NOT NULL,
    status_reason  text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- One open alert per rule, device and key.
CREATE UNIQUE INDEX alerts_open ON alerts (rule, device, key) WHERE status IN ('new', 'active');
CREATE INDEX alerts_device ON alerts (device, id);
CREATE INDEX alerts_created_at ON alerts (created_at);

-- The latest snapshot of each event name per device, one row per item.
CREATE TABLE device_items (
    device     text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    fields     text NOT NULL, -- JSON object
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (device, name, key)
);

-- What each device's agent has sent, for absence detection and advice.
CREATE TABLE device_agent_seen (
    device     text COLLATE "C" PRIMARY KEY,
    hub        text COLLATE "C" NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    messages   bigint      NOT NULL,
    events     bigint      NOT NULL,
    bytes      bigint      NOT NULL
);

-- The values the new-value detections have seen per device.
CREATE TABLE baselines (
    device     text COLLATE "C" NOT NULL,
    rule       text COLLATE "C" NOT NULL,
    value      text COLLATE "C" NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (device, rule, value)
);

CREATE TABLE response_policies (
    name       text COLLATE "C" PRIMARY KEY,
    spec       text NOT NULL, -- JSON, kept as written
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE response_actions (
    id       text COLLATE "C" PRIMARY KEY,
    device   text COLLATE "C" NOT NULL,
    policy   text COLLATE "C" NOT NULL,
    alert_id text COLLATE "C" NOT NULL,
    action   text COLLATE "C" NOT NULL,
    actor    text COLLATE "C" NOT NULL,
    reason   text NOT NULL,
    at       timestamptz NOT NULL
);
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
