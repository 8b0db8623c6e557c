"""Polyglot interop checks for the C client's command-line tools (amqp-tools: amqp-declare-queue,
amqp-publish, amqp-get, amqp-consume, amqp-delete-queue), driven from Python.

Usage: amqp_tools_checks.py URL [CHECK ...]   (POLY_RUN names the run)
Prints one JSON line per check: what the tools printed and their exit statuses.
"""
import json
import os
import subprocess
import sys
import traceback

URL = sys.argv[1]
RUN = os.environ.get("POLY_RUN", "local")


def name(suffix):
    return "poly-%s-tools-%s" % (RUN, suffix)


def emit(check, **obs):
    print(json.dumps(dict(check=check, **obs), sort_keys=True), flush=True)


def tool(*argv, stdin=None):
    r = subprocess.run([argv[0], "--url=" + URL, *argv[1:]], input=stdin, capture_output=True, text=True, timeout=20)
    return {"status": r.returncode, "out": r.stdout.strip(), "err": r.stderr.strip()}


def check_declare_publish_get():
    q = name("basic")
    obs = {
        "declare": tool("amqp-declare-queue", "-q", q),
        "server_named": tool("amqp-declare-queue", "-q", ""),
        "publish": tool("amqp-publish", "-r", q, "-b", "hello tools", "-p", "-C", "text/plain", "-E", "utf-8"),
        "get": tool("amqp-get", "-q", q),
        "get_empty": tool("amqp-get", "-q", q),
        "get_missing": tool("amqp-get", "-q", name("no-such-queue")),
        "delete": tool("amqp-delete-queue", "-q", q),
    }
    tool("amqp-delete-queue", "-q", obs["server_named"]["out"])
    emit("declare_publish_get", **obs)


def check_consume():
    q = name("consume")
    tool("amqp-declare-queue", "-q", q)
    obs = {"publish": tool("amqp-publish", "-r", q, "-l", stdin="one\ntwo\nthree\n"),
           "consume": tool("amqp-consume", "-q", q, "-c", "3", "-p", "1", "cat"),
           "delete": tool("amqp-delete-queue", "-q", q)}
    emit("consume", **obs)


def check_headers():
    """Headers set by amqp-publish -H, read back with pika (amqp-get prints only the body)."""
    q = name("headers")
    tool("amqp-declare-queue", "-q", q)
    obs = {"publish": tool("amqp-publish", "-r", q, "-b", "h", "-H", "x-text: some value", "-H", "x-number: 42",
                           "-t", "reply-here")}
    read = subprocess.run(["/usr/bin/python3", "-c", """
import json, sys, pika
c = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
m, p, body = c.channel().basic_get(sys.argv[2], auto_ack=True)
print(json.dumps({"headers": {k: [type(v).__name__, v.decode() if isinstance(v, bytes) else v] for k, v in (p.headers or {}).items()},
                  "reply_to": p.reply_to, "body": body.decode()}, sort_keys=True))
c.close()
""", URL, q], capture_output=True, text=True, timeout=20)
    obs["read_by_pika"] = json.loads(read.stdout) if read.returncode == 0 else {"error": read.stderr.strip()[-300:]}
    obs["delete"] = tool("amqp-delete-queue", "-q", q)
    emit("headers", **obs)


def check_redeclare_args():
    """amqp-declare-queue cannot pass arguments: redeclaring pika's queue (which has some) must be refused."""
    emit("redeclare_args", redeclare=tool("amqp-declare-queue", "-d", "-q", "poly-%s-redeclare-args" % RUN))


CHECKS = {k[len("check_"):]: v for k, v in globals().items() if k.startswith("check_")}

for check in sys.argv[2:] or ["declare_publish_get", "consume", "headers"]:
    try:
        CHECKS[check]()
    except Exception as e:
        emit(check, failed="%s: %s" % (type(e).__name__, e))
        traceback.print_exc()
