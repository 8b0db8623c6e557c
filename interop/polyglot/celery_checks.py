"""Polyglot interop checks for Celery: a worker (child process) runs a task, the result comes back via rpc://.

Usage: celery_checks.py URL [CHECK ...]   (POLY_RUN names the run)
Prints one JSON line per check: what the client observed.
"""
import json
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
URL = sys.argv[1]


def emit(check, **obs):
    print(json.dumps(dict(check=check, **obs), sort_keys=True), flush=True)


def run_task(expires_days):
    """In a fresh interpreter per check (see main): the app's settings are read at import."""
    env = dict(os.environ, POLY_URL=URL, POLY_EXPIRES_DAYS=str(expires_days))
    os.environ.update(env)
    sys.path.insert(0, HERE)
    import celery_app
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
         "-n", "polyglot-%s@localhost" % os.environ.get("POLY_RUN", "local")],
        cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    obs = {}
    try:
        started = time.time()
        result = celery_app.square.delay(7)
        try:
            obs["result"] = result.get(timeout=30)
            obs["state"] = result.state
        except Exception as e:
            obs["error"] = "%s: %s" % (type(e).__name__, e)
        obs["within_30s"] = time.time() - started < 30
    finally:
        worker.terminate()
        try:
            _, err = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
        if "error" in obs:
            sys.stderr.write(err.decode(errors="replace")[-3000:])
        # Remove the task queue so the broker is left as found.
        try:
            with celery_app.app.connection_for_write() as conn:
                conn.default_channel.queue_delete(celery_app.QUEUE)
                conn.default_channel.exchange_delete(celery_app.QUEUE)
        except Exception:
            pass
        celery_app.app.close()
    return obs


def check_task_result():
    emit("task_result", **run_task(1))


def check_task_result_long_expiry():
    emit("task_result_long_expiry", **run_task(30))


CHECKS = {k[len("check_"):]: v for k, v in globals().items() if k.startswith("check_")}


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "--one":
        check = sys.argv[3]
        try:
            CHECKS[check]()
        except Exception as e:
            emit(check, failed="%s: %s" % (type(e).__name__, e))
            traceback.print_exc()
        return
    for check in sys.argv[2:] or ["task_result", "task_result_long_expiry"]:
        subprocess.run([sys.executable, os.path.abspath(__file__), URL, "--one", check], check=False, timeout=80)


main()
