"""Python's ThreadingHTTPServer: one thread accepts (serve_forever), a new
thread serves each connection.
    python3 py-threading-server.py PORT
Prints "listening" when bound; SIGTERM stops it (exit 0)."""
import http.server
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops SYNs under load (1 s client
    # retransmits); a deployment would raise it.
    request_queue_size = 128


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or not 0 < int(sys.argv[1]) < 65536:
        print("usage: py-threading-server.py PORT", file=sys.stderr)
        return 2
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening", flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
