-- Telemetry in PostgreSQL (FF_TELEMETRY=postgres://…): Mainflux's postgres-writer table
-- `messages`, with the same column names, so queries and dashboards written for Mainflux
-- read it. Differences: `seq` (arrival order, the tie-break of equal times) instead of a
-- random `id`, `data_value` as text (it is base64 text in SenML), and `payload` and
-- `content_type` for messages that are not SenML.

CREATE TABLE messages (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      uuid NOT NULL,
    subtopic     text,
    publisher    uuid NOT NULL,
    protocol     text NOT NULL,
    name         text,
    unit         text,
    value        double precision,
    string_value text,
    bool_value   boolean,
    data_value   text,
    sum          double precision,
    time         double precision NOT NULL,
    update_time  double precision,
    payload      bytea,
    content_type text
);

-- Every read is one channel, newest first, ties latest first.
CREATE INDEX messages_channel_time ON messages (channel, time DESC, seq DESC);

-- Records per channel, kept by the statement that inserts them: a read without filters
-- takes its `total` from here instead of counting the channel's rows.
CREATE TABLE message_counts (
    channel uuid PRIMARY KEY,
    records bigint NOT NULL CHECK (records >= 0)
);
