-- Small named JSON documents: the fleet's and each device's agent
-- configuration.

-- +goose Up
CREATE TABLE settings (
    key        TEXT      NOT NULL PRIMARY KEY,
    value      TEXT      NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE settings;
