"""MQTT over WebSocket with a third-party client (Eclipse Paho, Python), for tests/mqtt_ws.rs.

usage: mqtt_ws_client.py HOST PORT THING_ID THING_KEY sub TOPIC COUNT
       mqtt_ws_client.py HOST PORT THING_ID THING_KEY pub TOPIC PAYLOAD
`sub` prints "subscribed <granted qos>" once the SUBACK is in, then "<topic> <payload>" per
message until COUNT arrived; `pub` publishes at QoS 1 and exits after the PUBACK. Any
CONNACK refusal prints "refused <code>" and exits 2. With FF_TEST_WS_CAFILE set, the
WebSocket is a TLS one (wss://) trusting that CA, showing the device certificate
FF_TEST_WS_CERTFILE (key FF_TEST_WS_KEYFILE) if set; then THING_ID and THING_KEY may be empty
strings (no username, no password: the certificate's thing).
"""
import os
import sys

import paho.mqtt.client as mqtt

host, port, thing, key, mode, topic, arg = sys.argv[1:8]
client = mqtt.Client(client_id=f"paho-{mode}", transport="websockets")
client.ws_set_options(path="/mqtt")
if thing or key:
    client.username_pw_set(thing or None, key or None)
if os.environ.get("FF_TEST_WS_CAFILE"):
    client.tls_set(
        ca_certs=os.environ["FF_TEST_WS_CAFILE"],
        certfile=os.environ.get("FF_TEST_WS_CERTFILE"),
        keyfile=os.environ.get("FF_TEST_WS_KEYFILE"),
    )
state = {"left": int(arg) if mode == "sub" else 0}


def on_connect(client, userdata, flags, rc):
    if rc != 0:
        print(f"refused {rc}", flush=True)
        sys.exit(2)
    if mode == "sub":
        client.subscribe(topic, qos=1)
    else:
        client.publish(topic, arg.encode(), qos=1)


def on_subscribe(client, userdata, mid, granted):
    print(f"subscribed {granted[0]}", flush=True)


def on_message(client, userdata, message):
    print(f"{message.topic} {message.payload.decode()}", flush=True)
    state["left"] -= 1
    if state["left"] == 0:
        client.disconnect()


def on_publish(client, userdata, mid):
    client.disconnect()


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.on_publish = on_publish
client.connect(host, int(port), keepalive=30)
client.loop_forever()
