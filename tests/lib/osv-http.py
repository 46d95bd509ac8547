#!/usr/bin/env python3
# tests/lib/osv-http.py: a tiny HTTP server on 127.0.0.1 for the feed tests.
# Serves the files of ROOT with an ETag (the file's sha256) and honours
# If-None-Match with 304; paths named "lm-..." are served with Last-Modified
# (the file's mtime) and no ETag instead, and honour If-Modified-Since with
# 304.  Paths named "flaky-N-..." fail with 503 the first N times they are
# asked for.  Every request is appended to LOG as "METHOD PATH STATUS INM
# IMS" (the If-None-Match and If-Modified-Since sent, "-" when absent; IMS
# with its spaces as '_'); POST bodies
# go to POSTS (one per line), answering 500 to the first FAILPOSTS of them.
# Writes its port to PORTFILE once listening.  Stops on SIGTERM.
#
#   osv-http.py ROOT PORTFILE LOG [POSTS [FAILPOSTS]]
import email.utils
import hashlib
import http.server
import os
import re
import sys

root, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
posts = sys.argv[4] if len(sys.argv) > 4 else None
failposts = int(sys.argv[5]) if len(sys.argv) > 5 else 0
asked = {}
nposts = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def note(self, status):
        inm = self.headers.get("If-None-Match") or "-"
        ims = (self.headers.get("If-Modified-Since") or "-").replace(" ", "_")
        with open(log, "a") as f:
            f.write("%s %s %d %s %s\n" % (self.command, self.path, status,
                                          inm, ims))

    def do_GET(self):
        name = os.path.basename(self.path)
        asked[name] = asked.get(name, 0) + 1
        m = re.match(r"flaky-(\d+)-", name)
        if m and asked[name] <= int(m.group(1)):
            self.note(503)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            body = f.read()
        if name.startswith("lm-"):
            mtime = int(os.path.getmtime(path))
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    since = email.utils.parsedate_to_datetime(ims).timestamp()
                except (TypeError, ValueError):
                    since = None
                if since is not None and mtime <= since:
                    self.note(304)
                    self.send_response(304)
                    self.end_headers()
                    return
            self.note(200)
            self.send_response(200)
            self.send_header("Last-Modified",
                             email.utils.formatdate(mtime, usegmt=True))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.note(200)
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        nposts[0] += 1
        status = 500 if nposts[0] <= failposts else 200
        self.note(status)
        if posts and status == 200:
            with open(posts, "ab") as f:
                f.write(body + b"\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
