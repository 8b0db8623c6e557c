"""Polyglot interop checks for Python pika (BlockingConnection).

Usage: pika_checks.py URL [CHECK ...]   (POLY_RUN names the run; every name we create holds it)
Prints one JSON line per check: what the client observed.
"""
import datetime
import decimal
import json
import os
import sys
import time
import traceback

import pika
from pika.exceptions import ChannelClosedByBroker, ConnectionClosedByBroker

from polyglot_values import describe

URL = sys.argv[1]
RUN = os.environ.get("POLY_RUN", "local")


def name(suffix):
    return "poly-%s-pika-%s" % (RUN, suffix)


def params(**kw):
    p = pika.URLParameters(URL)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def connect(**kw):
    return pika.BlockingConnection(params(**kw))


def emit(check, **obs):
    obs = dict(check=check, **obs)
    print(json.dumps(obs, sort_keys=True), flush=True)


def amqp_error(e):
    if isinstance(e, (ChannelClosedByBroker, ConnectionClosedByBroker)):
        return {"code": e.reply_code, "text": e.reply_text}
    return {"error": type(e).__name__}


def drain_get(ch, queue, limit=20):
    """basic.get until empty: bodies in order."""
    out = []
    for _ in range(limit):
        m, props, body = ch.basic_get(queue, auto_ack=True)
        if m is None:
            break
        out.append(body.decode())
    return out


def check_connect():
    c = connect(heartbeat=7)
    impl = c._impl
    caps = impl.server_capabilities
    obs = {
        "heartbeat": impl.params.heartbeat,
        "channel_max": impl.params.channel_max,
        "frame_max": impl.params.frame_max,
        "capabilities": {k: caps.get(k) for k in sorted(
            ["publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
             "connection.blocked", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"])},
    }
    c.close()
    # What the server proposes in connection.tune (pika lets a callable pick the value).
    proposed = []
    c = connect(heartbeat=lambda conn, server_value: proposed.append(server_value) or server_value)
    obs["server_heartbeat"] = proposed
    obs["accepted_heartbeat"] = c._impl.params.heartbeat
    c.close()
    try:
        bad = connect(credentials=pika.PlainCredentials("guest", "wrong-password"))
        bad.close()
        obs["bad_password"] = "opened"
    except Exception as e:  # pika reports a refused login as ProbableAuthenticationError
        obs["bad_password"] = type(e).__name__
    emit("connect", **obs)


def check_hello():
    c = connect()
    ch = c.channel()
    q = name("hello")
    ok = ch.queue_declare(q, auto_delete=False)
    ch.basic_publish("", q, b"Hello World!")
    got = []

    def on_msg(chan, method, props, body):
        got.append({"body": body.decode(), "routing_key": method.routing_key, "exchange": method.exchange,
                    "redelivered": method.redelivered})
        chan.stop_consuming()

    ch.basic_consume(q, on_msg, auto_ack=True)
    ch.start_consuming()
    ch.queue_delete(q)
    c.close()
    emit("hello", declare={"queue": ok.method.queue.replace(RUN, "<R>"), "messages": ok.method.message_count,
                           "consumers": ok.method.consumer_count}, got=got)


def check_work_queues():
    c = connect()
    ch = c.channel()
    q = name("tasks")
    ch.queue_declare(q, durable=True)
    for i in range(4):
        ch.basic_publish("", q, ("task %d" % i).encode(),
                         pika.BasicProperties(delivery_mode=2))
    ch.basic_qos(prefetch_count=1)
    seen = []
    state = {"nacked": False}

    def on_msg(chan, method, props, body):
        seen.append({"body": body.decode(), "redelivered": method.redelivered,
                     "delivery_mode": props.delivery_mode})
        if not state["nacked"]:
            state["nacked"] = True
            chan.basic_nack(method.delivery_tag, requeue=True)
            return
        chan.basic_ack(method.delivery_tag)
        if len(seen) == 5:
            chan.stop_consuming()

    ch.basic_consume(q, on_msg)
    ch.start_consuming()
    left = ch.queue_declare(q, passive=True).method.message_count
    ch.queue_delete(q)
    c.close()
    emit("work_queues", seen=seen, left=left)


def check_fanout():
    c = connect()
    ch = c.channel()
    x = name("logs")
    ch.exchange_declare(x, "fanout")
    queues = []
    for _ in range(2):
        r = ch.queue_declare("", exclusive=True)
        ch.queue_bind(r.method.queue, x)
        queues.append(r.method.queue)
    ch.basic_publish(x, "ignored", b"log line")
    got = [drain_get(ch, q) for q in queues]
    names_generated = all(q.startswith("amq.gen-") for q in queues)
    ch.exchange_delete(x)
    c.close()
    emit("fanout", got=got, server_named=names_generated)


def routed(ch, x, bindings, keys):
    out = {}
    for label, patterns in bindings.items():
        q = ch.queue_declare("", exclusive=True).method.queue
        for p in patterns:
            ch.queue_bind(q, x, routing_key=p)
        out[label] = q
    for k in keys:
        ch.basic_publish(x, k, k.encode())
    return {label: drain_get(ch, q) for label, q in out.items()}


def check_direct():
    c = connect()
    ch = c.channel()
    x = name("direct")
    ch.exchange_declare(x, "direct")
    got = routed(ch, x, {"errors": ["error"], "all": ["info", "warning", "error"]},
                 ["info", "warning", "error", "debug"])
    ch.exchange_delete(x)
    c.close()
    emit("direct", got=got)


def check_topic():
    c = connect()
    ch = c.channel()
    x = name("topic")
    ch.exchange_declare(x, "topic")
    got = routed(ch, x, {"q1": ["*.orange.*"], "q2": ["*.*.rabbit", "lazy.#"], "hash": ["#"]},
                 ["quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "lazy.brown.fox",
                  "lazy.pink.rabbit", "quick.brown.fox", "orange", "quick.orange.male.rabbit",
                  "lazy.orange.male.rabbit", "lazy", ""])
    ch.exchange_delete(x)
    c.close()
    emit("topic", got=got)


def rpc(declare_first):
    """Server: consumer on rpc queue (own channel). Client: direct reply-to on another channel."""
    c = connect()
    server = c.channel()
    client = c.channel()
    rq = name("rpc-declared" if declare_first else "rpc")
    server.queue_declare(rq, exclusive=True)

    def serve(chan, method, props, body):
        n = int(body)
        chan.basic_publish("", props.reply_to, str(n * n).encode(),
                           pika.BasicProperties(correlation_id=props.correlation_id))
        chan.basic_ack(method.delivery_tag)

    server.basic_consume(rq, serve)
    obs = {}
    if declare_first:
        # What several clients' RPC examples do before consuming: declare the pseudo-queue.
        try:
            r = client.queue_declare("amq.rabbitmq.reply-to", passive=True)
            obs["passive_declare"] = {"queue": r.method.queue, "messages": r.method.message_count,
                                      "consumers": r.method.consumer_count}
        except Exception as e:
            obs["passive_declare"] = amqp_error(e)
            client = c.channel()
        try:
            r = client.queue_declare("amq.rabbitmq.reply-to", exclusive=True)
            obs["declare_before_consuming"] = {"queue": r.method.queue, "messages": r.method.message_count,
                                               "consumers": r.method.consumer_count}
        except Exception as e:
            obs["declare_before_consuming"] = amqp_error(e)
            client = c.channel()
    replies = []

    def on_reply(chan, method, props, body):
        replies.append({"body": body.decode(), "correlation_id": props.correlation_id,
                        "routing_key_prefix": method.routing_key[:len("amq.rabbitmq.reply-to")]})

    client.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
    if declare_first:
        try:
            r = client.queue_declare("amq.rabbitmq.reply-to")
            obs["declare_while_consuming"] = {"queue": r.method.queue, "messages": r.method.message_count,
                                              "consumers": r.method.consumer_count}
        except Exception as e:
            obs["declare_while_consuming"] = amqp_error(e)
    if client.is_open:
        for i, n in enumerate([3, 7]):
            client.basic_publish("", rq, str(n).encode(),
                                 pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="c%d" % i))
        deadline = time.time() + 5
        while len(replies) < 2 and time.time() < deadline:
            c.process_data_events(time_limit=0.1)
    obs["replies"] = replies
    c.close()
    return obs


def check_rpc():
    emit("rpc", **rpc(False))


def check_rpc_declared():
    emit("rpc_declared", **rpc(True))


def check_confirms():
    c = connect()
    ch = c.channel()
    ch.confirm_delivery()
    q = name("confirms")
    ch.queue_declare(q)
    acked = 0
    for i in range(3):
        ch.basic_publish("", q, b"c", pika.BasicProperties(delivery_mode=2))
        acked += 1  # BlockingChannel.basic_publish raises if nacked
    obs = {"acked": acked}
    try:
        ch.basic_publish("", name("no-such-queue"), b"x", mandatory=True)
        obs["unroutable_mandatory"] = "acked"
    except pika.exceptions.UnroutableError as e:
        obs["unroutable_mandatory"] = {"returned": [m.method.reply_code for m in e.messages],
                                       "texts": [m.method.reply_text for m in e.messages]}
    obs["depth"] = ch.queue_declare(q, passive=True).method.message_count
    try:
        ch.basic_publish(name("no-such-exchange"), "k", b"x")
        obs["missing_exchange"] = "acked"
    except Exception as e:
        obs["missing_exchange"] = amqp_error(e)
    ch = c.channel()
    ch.queue_delete(q)
    c.close()
    emit("confirms", **obs)




def check_headers():
    c = connect()
    ch = c.channel()
    q = name("headers")
    ch.queue_declare(q, exclusive=True)
    headers = {
        "str": "text é",
        "bytes": b"\x00\x01\xff",
        "true": True,
        "false": False,
        "int32": 2147483647,
        "neg": -5,
        "int64": 2 ** 40,
        "neg64": -(2 ** 40),
        "decimal": decimal.Decimal("3.14"),
        "timestamp": datetime.datetime(2026, 12, 7, 12, 30, 15),
        "table": {"inner": 1, "s": "x"},
        "array": [1, "two", True, None, [3]],
        "void": None,
    }
    props = pika.BasicProperties(
        content_type="application/json", content_encoding="utf-8", headers=headers, delivery_mode=2,
        priority=3, correlation_id="corr", reply_to="rq", expiration="60000", message_id="mid",
        timestamp=1700000000, type="kind", user_id="guest", app_id="poly")
    ch.basic_publish("", q, b"{}", props)
    m, p, body = ch.basic_get(q, auto_ack=True)
    c.close()
    emit("headers", headers={k: describe(v) for k, v in sorted((p.headers or {}).items())},
         properties={k: getattr(p, k) for k in ["content_type", "content_encoding", "delivery_mode", "priority",
                                                "correlation_id", "reply_to", "expiration", "message_id",
                                                "timestamp", "type", "user_id", "app_id"]},
         body=body.decode())


REDECLARE_ARGS = {"x-max-length": 10, "x-message-ttl": 60000, "x-dead-letter-exchange": ""}


def check_redeclare_setup():
    """Declares the queues the other languages redeclare: 32-bit ints; x-queue-type only on -rev."""
    c = connect()
    ch = c.channel()
    out = {}
    # The x-queue-type pair has no integer arguments, so that only the queue type is compared.
    for q, args in [("redeclare-args", REDECLARE_ARGS), ("redeclare-classic", {"x-dead-letter-exchange": ""}),
                    ("redeclare-classic-rev", {"x-dead-letter-exchange": "", "x-queue-type": "classic"})]:
        r = ch.queue_declare("poly-%s-%s" % (RUN, q), durable=True, arguments=args)
        out[q] = r.method.message_count
    c.close()
    emit("redeclare_setup", declared=out)


def check_redeclare_cleanup():
    c = connect()
    ch = c.channel()
    out = {}
    for q in ["redeclare-args", "redeclare-classic", "redeclare-classic-rev"]:
        try:
            out[q] = ch.queue_delete("poly-%s-%s" % (RUN, q)).method.message_count
        except Exception as e:
            out[q] = amqp_error(e)
            ch = c.channel()
    c.close()
    emit("redeclare_cleanup", deleted=out)


def check_blocked():
    """The runner has raised a memory alarm; it clears it once we print the 'blocked' signal."""
    events = []
    c = connect(blocked_connection_timeout=None)
    c.add_on_connection_blocked_callback(lambda conn, m: events.append(["blocked", m.method.reason]))
    c.add_on_connection_unblocked_callback(lambda conn, m: events.append(["unblocked"]))
    ch = c.channel()
    q = name("blocked")
    ch.queue_declare(q, exclusive=True)
    ch.basic_publish("", q, b"held while blocked")
    deadline = time.time() + 10
    while not events and time.time() < deadline:
        c.process_data_events(time_limit=0.1)
    print(json.dumps({"signal": "blocked"}), flush=True)
    # The runner clears the alarm once every blocked check has signalled: that can take a while.
    deadline = time.time() + 45
    while len(events) < 2 and time.time() < deadline:
        c.process_data_events(time_limit=0.1)
    got = drain_get(ch, q)
    c.close()
    emit("blocked", events=events, got=got)


CHECKS = {k[len("check_"):]: v for k, v in globals().items() if k.startswith("check_")}
DEFAULT = ["connect", "hello", "work_queues", "fanout", "direct", "topic", "rpc", "rpc_declared", "confirms",
           "headers"]


def main():
    for check in sys.argv[2:] or DEFAULT:
        try:
            CHECKS[check]()
        except Exception as e:
            emit(check, failed="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()


if __name__ == "__main__":
    main()
