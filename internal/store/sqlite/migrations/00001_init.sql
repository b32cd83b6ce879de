-- Hubs, authorization rules and consumer-group checkpoints.
--
-- Timestamps are TIMESTAMP columns holding UTC text with microseconds
-- ("2006-01-02 15:04:05.999999-07:00", the driver's _time_format=sqlite);
-- the declared type is what makes the driver scan them into time.Time.

-- +goose Up
CREATE TABLE hubs (
    name            TEXT      NOT NULL PRIMARY KEY,
    partitions      INTEGER   NOT NULL CHECK (partitions > 0),
    retention_hours INTEGER   NOT NULL CHECK (retention_hours >= 0),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
) WITHOUT ROWID;

-- A rule belongs to a hub, or to the namespace when hub = ''. hub_ref is
-- the hub as a foreign key: NULL (referencing nothing) for namespace rules,
-- so that deleting a hub deletes exactly its own rules.
CREATE TABLE rules (
    hub           TEXT      NOT NULL,
    name          TEXT      NOT NULL,
    rights        TEXT      NOT NULL, -- comma-separated, in the order Manage,Send,Listen
    primary_key   BLOB      NOT NULL, -- sealed by the caller
    secondary_key BLOB      NOT NULL, -- sealed by the caller
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    hub_ref       TEXT GENERATED ALWAYS AS (NULLIF(hub, '')) STORED
                  REFERENCES hubs (name) ON DELETE CASCADE,
    PRIMARY KEY (hub, name)
) WITHOUT ROWID;
CREATE INDEX rules_hub_ref ON rules (hub_ref);

CREATE TABLE checkpoints (
    hub            TEXT      NOT NULL REFERENCES hubs (name) ON DELETE CASCADE,
    consumer_group TEXT      NOT NULL,
    partition      INTEGER   NOT NULL CHECK (partition >= 0),
    sequence       INTEGER   NOT NULL CHECK (sequence >= 0), -- 0 .. 2^63-1
    metadata       TEXT      NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (hub, consumer_group, partition)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE checkpoints;
DROP TABLE rules;
DROP TABLE hubs;
