-- Hubs, authorization rules and consumer-group checkpoints.
--
-- Names are COLLATE "C" so that ORDER BY sorts bytewise, as SQLite and Go
-- do, whatever the database's default collation.

-- +goose Up
CREATE TABLE hubs (
    name            text COLLATE "C" PRIMARY KEY,
    partitions      integer     NOT NULL CHECK (partitions > 0),
    retention_hours integer     NOT NULL CHECK (retention_hours >= 0),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- A rule belongs to a hub, or to the namespace when hub = ''. hub_ref is
-- the hub as a foreign key: NULL (referencing nothing) for namespace rules,
-- so that deleting a hub deletes exactly its own rules.
CREATE TABLE rules (
    hub           text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    rights        text        NOT NULL, -- comma-separated, in the order Manage,Send,Listen
    primary_key   bytea       NOT NULL, -- sealed by the caller
    secondary_key bytea       NOT NULL, -- sealed by the caller
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    hub_ref       text COLLATE "C" GENERATED ALWAYS AS (NULLIF(hub, '')) STORED
                  REFERENCES hubs (name) ON DELETE CASCADE,
    PRIMARY KEY (hub, name)
);
CREATE INDEX rules_hub_ref ON rules (hub_ref);

CREATE TABLE checkpoints (
    hub            text COLLATE "C" NOT NULL REFERENCES hubs (name) ON DELETE CASCADE,
    consumer_group text COLLATE "C" NOT NULL,
    partition      integer     NOT NULL CHECK (partition >= 0),
    sequence       bigint      NOT NULL CHECK (sequence >= 0), -- 0 .. 2^63-1
    metadata       text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (hub, consumer_group, partition)
);

-- +goose Down
DROP TABLE checkpoints;
DROP TABLE rules;
DROP TABLE hubs;
