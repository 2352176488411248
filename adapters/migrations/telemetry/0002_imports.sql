-- How far `ferroflux migrate --telemetry-to` has copied each source store (a fjall store's
-- id), written in the same transaction as the rows it copied: a second run resumes after
-- `last_key` and copies nothing twice.
CREATE TABLE telemetry_imports (
    source   uuid PRIMARY KEY,
    last_key bytea NOT NULL,
    copied   bigint NOT NULL
);
