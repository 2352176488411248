-- Query views of the REST API, folded from the event log (see projections/src/views/postgres).
-- Nothing here is the source of truth: dropping these tables and replaying rebuilds them.

CREATE TABLE view_checkpoints (
    name     text PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0)
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    -- Metadata is kept as the client sent it (key order, spacing); `doc` is for filters.
    metadata      text,
    -- Position of the registration: a re-registered email answers with the latest user.
    registered_at bigint NOT NULL
);
CREATE INDEX users_email ON users (email, registered_at DESC);

CREATE TABLE things (
    id         uuid PRIMARY KEY,
    owner      uuid NOT NULL,
    name       text,
    metadata   text,
    doc        jsonb GENERATED ALWAYS AS (metadata::jsonb) STORED,
    key_hash   bytea NOT NULL,
    sealed_key text NOT NULL
);
-- Every query is scoped to one owner: this index finds the owner's rows in id order, and
-- name order, name and metadata filters work on that set. More indexes (name, GIN on `doc`)
-- would each slow every replayed insert for little gain per owner.
CREATE INDEX things_owner ON things (owner, id);

CREATE TABLE channels (
    id       uuid PRIMARY KEY,
    owner    uuid NOT NULL,
    name     text,
    metadata text,
    doc      jsonb GENERATED ALWAYS AS (metadata::jsonb) STORED
);
CREATE INDEX channels_owner ON channels (owner, id);

-- An edge exists only while both ends are live (domain::graph): the applier checks the ends
-- and removals delete edges, so no foreign key is needed (and none slows a replay).
CREATE TABLE connections (
    channel_id uuid NOT NULL,
    thing_id   uuid NOT NULL,
    PRIMARY KEY (channel_id, thing_id)
);
CREATE INDEX connections_thing ON connections (thing_id, channel_id);

-- Removed ids, things and channels alike: a removal is final for the graph even if a stray
-- create of the same id follows (domain::graph's tombstones).
CREATE TABLE removed (
    id uuid PRIMARY KEY
);
