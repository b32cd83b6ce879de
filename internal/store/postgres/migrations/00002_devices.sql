-- The device registry: devices, their tags, and when publishers last had
-- an event accepted.

-- +goose Up
-- A device belongs to a hub, which cannot be deleted while it has devices
-- (RESTRICT). The keys are sealed by the caller and empty for a device that
-- authenticates with a certificate only. cert_thumbprint is NULL when the
-- device has no certificate, so UNIQUE holds only between real thumbprints.
CREATE TABLE devices (
    id              text COLLATE "C" PRIMARY KEY,
    hub             text COLLATE "C" NOT NULL REFERENCES hubs (name) ON DELETE RESTRICT,
    status          text        NOT NULL,
    status_reason   text        NOT NULL,
    primary_key     bytea       NOT NULL,
    secondary_key   bytea       NOT NULL,
    cert_thumbprint text COLLATE "C" UNIQUE,
    policy          jsonb,                   -- NULL when empty
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
-- Filters (hub, status) in id order, and the RESTRICT check of a hub delete.
CREATE INDEX devices_hub ON devices (hub, id);
CREATE INDEX devices_status ON devices (status, id);

CREATE TABLE device_tags (
    device_id text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key       text COLLATE "C" NOT NULL,
    value     text COLLATE "C" NOT NULL,
    PRIMARY KEY (device_id, key)
);
-- The tag filter: devices carrying a key, or a key with a value.
CREATE INDEX device_tags_key_value ON device_tags (key, value, device_id);

-- Written on the send path, so no foreign key to check on every write; the
-- store deletes a hub's rows with the hub.
CREATE TABLE last_seen (
    hub       text COLLATE "C" NOT NULL,
    publisher text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (hub, publisher)
);

-- +goose Down
DROP TABLE last_seen;
DROP TABLE device_tags;
DROP TABLE devices;
