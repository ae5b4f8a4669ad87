"""The Flask baseline of the HTTP bench: the same echo the loader's `POST /v1/private/:service`
does, written the way a Python platform would serve it.

The route parses the AIGes JSON body, base64-decodes each payload item to bytes and re-encodes it,
and replies in the loader's success shape (same keys in the same order, a fresh sid), like
bare-http.ts does with fastify.

Usage (Debian's python3-flask, so run it with /usr/bin/python3, not a venv's python):
    /usr/bin/python3 test/bench/bare-flask.py werkzeug   # Flask's own server, threaded
    /usr/bin/python3 test/bench/bare-flask.py gunicorn   # gunicorn (Debian's gunicorn), gthread workers
It binds 127.0.0.1 on a free port and prints {"port": N} on stdout once it listens.
"""
import base64
import json
import logging
import os
import sys
import uuid

from flask import Flask, request

# The loader's default limits.max_message_bytes, as JSON base64 (4/3) plus an envelope allowance.
MAX_BODY_BYTES = (16 * 1024 * 1024 * 4) // 3 + 64 * 1024

app = Flask(__name__)
# Keep the keys in the order the loader writes them (Flask sorts them by default).
app.json.sort_keys = False
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES


@app.post("/v1/private/<service>")
def private(service):
    body = request.get_json()
    payload = {}
    for key, item in body["payload"].items():
        data = base64.b64decode(item["data"], validate=True)
        payload[key] = {
            "encoding": item["encoding"],
            "status": item["status"],
            "seq": 0,
            "data": base64.b64encode(data).decode("ascii"),
        }
    header = {"code": 0, "message": "success", "sid": str(uuid.uuid4()), "status": body["header"]["status"]}
    return {"header": header, "payload": payload}


def announce(port):
    sys.stdout.write(json.dumps({"port": port}) + "\n")
    sys.stdout.flush()


def serve_werkzeug():
    """What `app.run(threaded=True)` does, on a free port: a thread per connection.
    NOTE: werkzeug answers every request with `Connection: close`, so each call opens a connection."""
    from werkzeug.serving import make_server

    # No log line per request (like every other server in the bench); errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    announce(server.server_port)
    server.serve_forever()


def serve_gunicorn():
    """gunicorn as its docs suggest to start with: (2 x cores) + 1 workers; gthread keeps connections alive."""
    from gunicorn.app.base import BaseApplication

    class Bench(BaseApplication):
        def load_config(self):
            settings = {
                "bind": "127.0.0.1:0",
                "workers": 2 * os.cpu_count() + 1,
                "worker_class": "gthread",
                "threads": 4,
                "graceful_timeout": 2,
                "loglevel": "warning",
                "when_ready": lambda server: announce(server.LISTENERS[0].sock.getsockname()[1]),
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Bench().run()


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "werkzeug":
        serve_werkzeug()
    elif mode == "gunicorn":
        serve_gunicorn()
    else:
        sys.exit("usage: bare-flask.py werkzeug|gunicorn")
