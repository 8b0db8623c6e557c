"""Polyglot interop checks for Python kombu (pyamqp transport, i.e. py-amqp).

Usage: kombu_checks.py URL [CHECK ...]   (POLY_RUN names the run)
Prints one JSON line per check: what the client observed.
"""
import datetime
import decimal
import json
import os
import socket
import sys
import time
import traceback
import urllib.parse

import amqp.exceptions
from kombu import Connection, Consumer, Exchange, Producer, Queue

from polyglot_values import describe

URL = sys.argv[1].replace("amqp://", "pyamqp://", 1)
RUN = os.environ.get("POLY_RUN", "local")
REPLY_TO = "amq.rabbitmq.reply-to"


def name(suffix):
    return "poly-%s-kombu-%s" % (RUN, suffix)


def emit(check, **obs):
    print(json.dumps(dict(check=check, **obs), sort_keys=True), flush=True)


def amqp_error(e):
    if isinstance(e, amqp.exceptions.AMQPError):
        return {"code": e.reply_code, "text": e.reply_text}
    return {"error": type(e).__name__}


def pump(conn, done, seconds=5.0):
    """Dispatches incoming frames until done() or the time is up."""
    deadline = time.time() + seconds
    while not done() and time.time() < deadline:
        try:
            conn.drain_events(timeout=0.1)
        except socket.timeout:
            pass


def drain_get(queue):
    out = []
    for _ in range(20):
        m = queue.get(no_ack=True, accept=["json", "text/plain"])
        if m is None:
            break
        out.append(m.payload)
    return out


def check_connect():
    with Connection(URL, heartbeat=7) as conn:
        conn.connect()
        c = conn.connection
        caps = c.server_capabilities
        obs = {"heartbeat": c.heartbeat, "channel_max": c.channel_max, "frame_max": c.frame_max,
               # Celery applies its prefetch as global qos only when this is False (product "RabbitMQ" >= 3.3).
               "qos_semantics_matches_spec": conn.transport.qos_semantics_matches_spec(c),
               "capabilities": {k: caps.get(k) for k in sorted(
                   ["publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
                    "connection.blocked", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"])}}
    try:
        u = urllib.parse.urlsplit(URL)
        bad_url = u._replace(netloc="%s:wrong-password@%s:%s" % (u.username, u.hostname, u.port or 5672)).geturl()
        with Connection(bad_url, connect_timeout=5) as bad:
            bad.ensure_connection(max_retries=1)
        obs["bad_password"] = "opened"
    except Exception as e:
        obs["bad_password"] = type(e).__name__
    emit("connect", **obs)


def check_connect_amqplain():
    with Connection(URL, login_method="AMQPLAIN") as conn:
        conn.connect()
        q = Queue(name("amqplain"), exclusive=True)
        q(conn.default_channel).declare()
        emit("connect_amqplain", opened=conn.connected)


def check_hello():
    with Connection(URL) as conn:
        q = Queue(name("hello"), routing_key=name("hello"), durable=False)
        conn.Producer().publish("Hello World!", routing_key=q.name, declare=[q])
        got = []

        def on_msg(body, message):
            got.append({"body": body, "content_type": message.content_type,
                        "routing_key": message.delivery_info["routing_key"],
                        "redelivered": message.delivery_info["redelivered"]})
            message.ack()

        with conn.Consumer(q, callbacks=[on_msg]):
            pump(conn, lambda: got)
        q(conn.default_channel).delete()
        emit("hello", got=got)


def check_work_queues():
    with Connection(URL) as conn:
        q = Queue(name("tasks"), routing_key=name("tasks"), durable=True)
        producer = conn.Producer()
        for i in range(4):
            producer.publish({"task": i}, routing_key=q.name, declare=[q], delivery_mode=2)
        seen = []

        def on_msg(body, message):
            seen.append({"body": body, "redelivered": message.delivery_info["redelivered"],
                         "delivery_mode": message.properties.get("delivery_mode")})
            if len(seen) == 1:
                message.requeue()
            else:
                message.ack()

        with conn.Consumer(q, callbacks=[on_msg], prefetch_count=1):
            pump(conn, lambda: len(seen) == 5)
        left = q(conn.default_channel).queue_declare(passive=True).message_count
        q(conn.default_channel).delete()
        emit("work_queues", seen=seen, left=left)


def check_fanout():
    with Connection(URL) as conn:
        x = Exchange(name("logs"), type="fanout", durable=False, auto_delete=False)
        queues = [Queue(name("logs-%d" % i), x, exclusive=True) for i in range(2)]
        for q in queues:
            q(conn.default_channel).declare()
        conn.Producer().publish("log line", exchange=x, routing_key="ignored")
        got = [drain_get(q(conn.default_channel)) for q in queues]
        x(conn.default_channel).delete()
        emit("fanout", got=got)


def check_topic():
    with Connection(URL) as conn:
        x = Exchange(name("topic"), type="topic", durable=False)
        bindings = {"q1": ["*.orange.*"], "q2": ["*.*.rabbit", "lazy.#"], "hash": ["#"]}
        x(conn.default_channel).declare()
        bound = {}
        for label, patterns in bindings.items():
            q = Queue(name("topic-" + label), exclusive=True, channel=conn.default_channel)
            q.declare()
            for p in patterns:
                q.bind_to(x(conn.default_channel), routing_key=p)
            bound[label] = q
        producer = conn.Producer()
        keys = ["quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "lazy.brown.fox", "lazy.pink.rabbit",
                "quick.brown.fox", "orange", "quick.orange.male.rabbit", "lazy.orange.male.rabbit", "lazy", ""]
        for k in keys:
            producer.publish(k, exchange=x, routing_key=k)
        got = {label: drain_get(q) for label, q in bound.items()}
        x(conn.default_channel).delete()
        emit("topic", got=got)


def rpc(declare_first):
    """kombu's Consumer declares its queues unless told not to: declare_first uses that default."""
    with Connection(URL) as conn:
        rq = Queue(name("rpc-declared" if declare_first else "rpc"), exclusive=True)
        server_ch = conn.channel()
        producer = Producer(server_ch)

        def serve(body, message):
            producer.publish(body * body, routing_key=message.properties["reply_to"],
                             correlation_id=message.properties["correlation_id"])
            message.ack()

        server = Consumer(server_ch, [rq], callbacks=[serve])
        server.consume()
        replies = []

        def on_reply(body, message):
            replies.append({"body": body, "correlation_id": message.properties.get("correlation_id"),
                            "routing_key_prefix": message.delivery_info["routing_key"][:len(REPLY_TO)]})

        obs = {}
        client_ch = conn.channel()
        reply_q = Queue(REPLY_TO, no_ack=True, no_declare=not declare_first, durable=False, auto_delete=True)
        try:
            client = Consumer(client_ch, [reply_q], callbacks=[on_reply], no_ack=True)
            client.consume()
            obs["consumer"] = "ok"
        except amqp.exceptions.AMQPError as e:
            obs["consumer"] = amqp_error(e)
        if "code" not in obs["consumer"]:
            for i, n in enumerate([3, 7]):
                Producer(client_ch).publish(n, routing_key=rq.name, reply_to=REPLY_TO, correlation_id="c%d" % i)
            pump(conn, lambda: len(replies) == 2)
        # Both channels share one socket; kombu may dispatch the two replies in either order.
        obs["replies"] = sorted(replies, key=lambda r: r["correlation_id"] or "")
        emit("rpc_declared" if declare_first else "rpc", **obs)


def check_rpc():
    rpc(False)


def check_rpc_declared():
    rpc(True)


def check_confirms():
    with Connection(URL, transport_options={"confirm_publish": True}) as conn:
        q = Queue(name("confirms"), durable=False)
        returns = []
        producer = conn.Producer(on_return=lambda exc, exchange, rk, message: returns.append(
            {"code": exc.reply_code, "text": exc.reply_text}))
        published = 0
        for _ in range(3):
            producer.publish("c", routing_key=q.name, declare=[q], delivery_mode=2)
            published += 1  # returns once the broker acked (py-amqp raises on nack)
        producer.publish("x", routing_key=name("no-such-queue"), mandatory=True)
        pump(conn, lambda: returns, 2)
        obs = {"published": published, "returned": returns,
               "depth": q(conn.default_channel).queue_declare(passive=True).message_count}
        try:
            Exchange(name("no-such-exchange"), passive=True)(conn.channel()).declare()
            obs["missing_exchange"] = "ok"
        except amqp.exceptions.AMQPError as e:
            obs["missing_exchange"] = amqp_error(e)
        q(conn.channel()).delete()
        emit("confirms", **obs)




def check_headers():
    with Connection(URL) as conn:
        q = Queue(name("headers"), exclusive=True, channel=conn.default_channel)
        q.declare()
        headers = {
            "str": "text é", "true": True, "false": False, "int32": 2147483647, "neg": -5,
            # py-amqp sends integers beyond 32 bits as L (unsigned 64-bit in RabbitMQ's table grammar).
            "big": 2 ** 40, "float": 1.5, "decimal": decimal.Decimal("3.14"),
            "timestamp": datetime.datetime(2026, 12, 7, 12, 30, 15), "table": {"inner": 1, "s": "x"},
            "array": [1, "two", True, None], "void": None,
        }
        conn.Producer().publish({"k": 1}, routing_key=q.name, headers=headers, content_encoding="utf-8",
                                delivery_mode=2, priority=3, correlation_id="corr", reply_to="rq", expiration=60,
                                message_id="mid", timestamp=1700000000, type="kind", user_id="guest", app_id="poly")
        try:
            m = q.get(no_ack=True)
        except Exception as e:
            emit("headers", get=amqp_error(e))
            return
        props = {k: m.properties.get(k) for k in ["content_encoding", "delivery_mode", "priority", "correlation_id",
                                                  "reply_to", "expiration", "message_id", "timestamp", "type",
                                                  "user_id", "app_id"]}
        props["content_type"] = m.content_type
        emit("headers", headers={k: describe(v) for k, v in sorted(m.headers.items())}, properties=props,
             body=m.body.decode() if isinstance(m.body, bytes) else m.body)


REDECLARE_ARGS = {"x-max-length": 10, "x-message-ttl": 60000, "x-dead-letter-exchange": ""}


def redeclare(queue, args):
    with Connection(URL) as conn:
        q = Queue("poly-%s-%s" % (RUN, queue), durable=True, auto_delete=False, queue_arguments=args,
                  channel=conn.default_channel)
        try:
            r = q.queue_declare()
            return {"ok": {"queue": r.queue, "messages": r.message_count, "consumers": r.consumer_count}}
        except amqp.exceptions.AMQPError as e:
            return amqp_error(e)


def check_redeclare_args():
    emit("redeclare_args", **redeclare("redeclare-args", REDECLARE_ARGS))


def check_redeclare_classic():
    emit("redeclare_classic",
         with_type=redeclare("redeclare-classic", {"x-dead-letter-exchange": "", "x-queue-type": "classic"}),
         without_type=redeclare("redeclare-classic-rev", {"x-dead-letter-exchange": ""}))


def check_blocked():
    events = []
    with Connection(URL) as conn:
        conn.connect()
        # py-amqp passes its own fixed reason text, not the broker's.
        conn.connection.on_blocked = lambda reason: events.append(["blocked"])
        conn.connection.on_unblocked = lambda: events.append(["unblocked"])
        q = Queue(name("blocked"), exclusive=True, channel=conn.default_channel)
        q.declare()
        conn.Producer().publish("held while blocked", routing_key=q.name)
        pump(conn, lambda: events, 10)
        print(json.dumps({"signal": "blocked"}), flush=True)
        pump(conn, lambda: len(events) >= 2, 45)  # cleared once every blocked check has signalled
        emit("blocked", events=events, got=drain_get(q))


CHECKS = {k[len("check_"):]: v for k, v in globals().items() if k.startswith("check_")}
DEFAULT = ["connect", "connect_amqplain", "hello", "work_queues", "fanout", "topic", "rpc", "rpc_declared", "confirms",
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
