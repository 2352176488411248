-- Bootstrap configs (projections/src/views/postgres/configs.rs). The config id is its
-- thing's id. The external key is kept hashed (the device's fetch compares it) and sealed
-- (its owner reads it back); the client key is sealed. Like every view table, a replay
-- rebuilds it.
CREATE TABLE configs (
    thing_id            uuid PRIMARY KEY,
    owner               uuid NOT NULL,
    external_id         text NOT NULL,
    external_key_hash   bytea NOT NULL,
    external_key_sealed text NOT NULL,
    name                text,
    content             text,
    -- Live channels only, in the order the owner gave them.
    channels            uuid[] NOT NULL,
    client_cert         text,
    client_key          text,
    ca_cert             text,
    state               smallint NOT NULL CHECK (state IN (0, 1))
);
CREATE INDEX configs_owner ON configs (owner, thing_id);
-- The device's fetch. Not unique: the log's claims keep external ids unique, and a view
-- must take any recorded history rather than stop on it.
CREATE INDEX configs_external_id ON configs (external_id);

-- External ids devices fetched with while no config had them (views::unknown): the id only,
-- never the key tried; the most recent `MAX_UNKNOWN` are kept.
CREATE TABLE unknown_configs (
    external_id   text PRIMARY KEY,
    attempts      bigint NOT NULL,
    last_attempt  bigint NOT NULL,
    last_position bigint NOT NULL
);
CREATE INDEX unknown_configs_recency ON unknown_configs (last_position);
