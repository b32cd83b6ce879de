-- The device registry: devices, their tags, and when publishers last had
-- an event accepted.

-- +goose Up
-- A device belongs to a hub, which cannot be deleted while it has devices
-- (RESTRICT). The keys are sealed by the caller and empty for a device that
-- authenticates with a certificate only. cert_thumbprint is NULL when the
-- device has no certificate, so UNIQUE holds only between real thumbprints.
CREATE TABLE devices (
    id              TEXT      NOT NULL PRIMARY KEY,
    hub             TEXT      NOT NULL REFERENCES hubs (name) ON DELETE RESTRICT,
    status          TEXT      NOT NULL,
    status_reason   TEXT      NOT NULL,
    primary_key     BLOB      NOT NULL,
    secondary_key   BLOB      NOT NULL,
    cert_thumbprint TEXT      UNIQUE,
    policy          TEXT,               -- JSON; NULL when empty
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
) WITHOUT ROWID;
-- Filters (hub, status) in id order, and the RESTRICT check of a hub delete.
CREATE INDEX devices_hub ON devices (hub, id);
CREATE INDEX devices_status ON devices (status, id);

CREATE TABLE device_tags (
    device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
) WITHOUT ROWID;
-- The tag filter: devices carrying a key, or a key with a value.
CREATE INDEX device_tags_key_value ON device_tags (key, value, device_id);

-- Written on the send path, so no foreign key to check on every write; the
-- store deletes a hub's rows with the hub.
CREATE TABLE last_seen (
    hub       TEXT      NOT NULL,
    publisher TEXT      NOT NULL,
    at        TIMESTAMP NOT NULL,
    PRIMARY KEY (hub, publisher)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE last_seen;
DROP TABLE device_tags;
DROP TABLE devices;
