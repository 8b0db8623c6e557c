"""The Celery application that celery_checks.py runs a worker for (broker and expiry from the environment)."""
import datetime
import os

from celery import Celery

RUN = os.environ.get("POLY_RUN", "local")
QUEUE = "poly-%s-celery" % RUN

app = Celery("polyglot", broker=os.environ.get("POLY_URL", "amqp://guest:guest@127.0.0.1:5672"), backend="rpc://")
app.conf.update(
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
    # POLY_EXPIRES_DAYS >= 25 makes the rpc:// reply queue's x-expires exceed 32 bits (py-amqp sends it as L).
    result_expires=datetime.timedelta(days=float(os.environ.get("POLY_EXPIRES_DAYS", "1"))),
    broker_connection_retry_on_startup=False,
    broker_connection_max_retries=1,
    worker_hijack_root_logger=False,
)


@app.task(name="polyglot.square")
def square(n):
    return {"square": n * n, "worker": "polyglot"}
