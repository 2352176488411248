#!/usr/bin/env python3
"""A third-party consumer of a Redis stream, with the `redis` PyPI package (not our code).

    feeds_consumer.py URL STREAM              XREAD the whole stream from 0
    feeds_consumer.py URL STREAM --group G    XREADGROUP as consumer group G (as Mainflux's
                                              bootstrap reads mainflux.things), acking all

Prints one JSON document: [[id, {field: value, ...}], ...] in stream order.
"""
import json
import sys

import redis


def main():
    url, stream = sys.argv[1], sys.argv[2]
    group = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--group" else None
    r = redis.Redis.from_url(url, decode_responses=True)
    out = []
    if group is None:
        last = "0"
        while True:
            reply = r.xread({stream: last}, count=500)
            if not reply:
                break
            for entry_id, fields in reply[0][1]:
                out.append([entry_id, fields])
                last = entry_id
    else:
        try:
            r.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        while True:
            reply = r.xreadgroup(group, "consumer-1", {stream: ">"}, count=500)
            if not reply or not reply[0][1]:
                break
            for entry_id, fields in reply[0][1]:
                out.append([entry_id, fields])
                r.xack(stream, group, entry_id)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
