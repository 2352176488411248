"""Provisions what scripts/schemathesis needs on a fresh server: users alice and bob, each
with a thing connected to a channel. Writes, into the work dir given, the WFC auth document
with both users' tokens (users.json), and alice's thing key and channel id for the data-plane
run. Standard library only, so it runs before the venv exists."""

import json
import sys
import urllib.request

base, work = sys.argv[1], sys.argv[2]


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(request, data) as response:
        text = response.read()
        return response.headers, json.loads(text) if text else None


def provision(user):
    email, password = f"{user}@example.com", f"{user}-password"
    call("POST", "/users", {"email": email, "password": password})
    _, login = call("POST", "/tokens", {"email": email, "password": password})
    token = login["token"]
    headers, _ = call("POST", "/things", {"name": f"{user}-thing"}, token)
    thing = headers["Location"].rsplit("/", 1)[1]
    headers, _ = call("POST", "/channels", {"name": f"{user}-channel"}, token)
    channel = headers["Location"].rsplit("/", 1)[1]
    call("PUT", f"/channels/{channel}/things/{thing}", token=token)
    _, details = call("GET", f"/things/{thing}", token=token)
    return token, details["key"], channel, thing


users = {name: provision(name) for name in ("alice", "bob")}
auth = [
    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": "Bearer " + token}]}
    for name, (token, *_) in users.items()
]
with open(f"{work}/users.json", "w") as out:
    json.dump({"auth": auth}, out)
# Alice's pair for the connect and disconnect routes, so they can succeed without
# disconnecting the pair the data-plane run publishes with.
token, key, channel, _ = users["alice"]
_, spare_thing = call("POST", "/things/bulk", [{"name": "spare"}], token)
_, spare_channel = call("POST", "/channels/bulk", [{"name": "spare"}], token)
ids = {
    "thing-key": key,
    "channel": channel,
    "spare-thing": spare_thing["things"][0]["id"],
    "spare-channel": spare_channel["channels"][0]["id"],
}
for name, value in ids.items():
    with open(f"{work}/{name}", "w") as out:
        out.write(value)
print("provisioned alice and bob, each with a thing connected to a channel")
