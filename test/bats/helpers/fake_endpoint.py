#!/usr/bin/env python3
"""Stands in for the ECS agent introspection endpoint in the first-run tests.

Usage: fake_endpoint.py BODY_FILE PORT_FILE
Binds 127.0.0.1 on a free port, writes the port to PORT_FILE and answers every GET with the
current content of BODY_FILE (re-read per request, so a test can change the answer while
firstrun.sh is polling). A missing BODY_FILE answers 503.
"""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server naming)
        try:
            with open(sys.argv[1], "rb") as body_file:
                body = body_file.read()
            status = 200
        except FileNotFoundError:
            body, status = b'{"error": "agent not started"}', 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as port_file:
    port_file.write(str(server.server_address[1]))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
