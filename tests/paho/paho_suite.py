"""Runs an Eclipse Paho interoperability suite, unchanged, against Ferroflux (tests/paho_interop.rs).

usage: paho_suite.py SUITE_DIR VERSION HOST PORT THING_ID THING_KEY CHANNEL_ID [TEST]

VERSION is 311 (client_test.py) or 5 (client_test5.py), from SUITE_DIR, the suite's
`interoperability` folder (third-party, outside the project: imported, never copied).

Without TEST, every test of the suite runs in its own child process (this script with TEST)
under a timeout, so a test that hangs or busy-loops is one failure, not a hung run; then one
JSON line is printed: {"passed": [...], "failed": {name: reason}}.

The suites assume an anonymous broker and free topics. This wrapper adapts the setting, not
the tests: every client connects as the provisioned thing (username = thing id, password =
key, unless a test sets its own), and the suite's topics and wildcard filters are placed under
`channels/<channel>/messages/<test>/`, one subtree per test, so retained messages of one test
never reach another. Its "no subscribe" topic is one outside any channel, which Ferroflux
refuses; a bare `#` filter (the MQTT 5 suite's clean-up) is placed under the test's subtree.
"""
import io
import json
import logging
import subprocess
import sys
import unittest

# Far above the longest test (test_keepalive sleeps 15 s after its set-up) on a loaded machine;
# a test that busy-loops (seen in the MQTT 5 suite) costs this much, once.
TIMEOUT_SECONDS = 45

suite_dir, version, host, port, thing, key, channel = sys.argv[1:8]
only = sys.argv[8] if len(sys.argv) > 8 else None


def load_suite():
    sys.path.insert(0, suite_dir)
    logging.getLogger().setLevel(logging.CRITICAL)
    if version == "311":
        import client_test as suite
        import mqtt.clients.V311 as client_module
    else:
        import client_test5 as suite
        import mqtt.clients.V5 as client_module
    return suite, client_module


def adapt(suite, client_module, test):
    """Points the suite at the server, its topics at the channel, its clients at the thing."""
    prefix = f"channels/{channel}/messages/{test}/"
    topics = [prefix + t for t in ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")]
    wildtopics = [prefix + t for t in ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")]

    def set_data():
        suite.topics, suite.wildtopics = topics, wildtopics
        suite.nosubscribe_topics = ("test/nosubscribe",)
        suite.host, suite.port = host, int(port)
        suite.topic_prefix = prefix

    set_data()
    if hasattr(suite, "setData"):
        suite.setData = set_data  # the MQTT 5 suite resets its topics in setUpClass

    original_connect = client_module.Client.connect

    def connect_as_thing(self, *args, **kwargs):
        if kwargs.get("username") is None and kwargs.get("password") is None:
            kwargs["username"], kwargs["password"] = thing, key.encode()
        return original_connect(self, *args, **kwargs)

    client_module.Client.connect = connect_as_thing

    # The MQTT 5 suite's clean-up subscribes to a bare `#` (every topic) to clear retained
    # messages: that means every topic of this test, so it is placed under the channel too.
    original_subscribe = client_module.Client.subscribe

    def subscribe_in_channel(self, topics, *args, **kwargs):
        topics = [prefix + "#" if t == "#" else t for t in topics]
        return original_subscribe(self, topics, *args, **kwargs)

    client_module.Client.subscribe = subscribe_in_channel


def run_one(test):
    """Runs one test in this process; exit status 0 when it passed, its reason printed if not."""
    suite, client_module = load_suite()
    adapt(suite, client_module, test)
    result = unittest.TestResult()
    captured = io.StringIO()
    real_stdout, sys.stdout = sys.stdout, captured  # the suites print progress
    try:
        unittest.TestSuite([suite.Test(test)]).run(result)
    finally:
        sys.stdout = real_stdout
    for _, trace in result.failures + result.errors:
        lines = [line for line in trace.strip().splitlines() if line.strip()]
        print(lines[-1] if lines else "failed")
        sys.exit(1)
    sys.exit(0)


def run_all():
    """Runs each test in a child process with a timeout and prints the JSON summary."""
    suite, _ = load_suite()
    names = unittest.defaultTestLoader.getTestCaseNames(suite.Test)
    passed, failed = [], {}
    for name in names:
        try:
            child = subprocess.run(
                [sys.executable, __file__, *sys.argv[1:8], name],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            failed[name] = f"timed out after {TIMEOUT_SECONDS} s"
            continue
        if child.returncode == 0:
            passed.append(name)
        else:
            lines = (child.stdout + child.stderr).strip().splitlines()
            failed[name] = lines[-1] if lines else f"exit status {child.returncode}"
    print(json.dumps({"passed": passed, "failed": failed}))


if only is None:
    run_all()
else:
    run_one(only)
