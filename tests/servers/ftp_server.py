#!/usr/bin/env python3
"""An FTP server for the connector tests (Debian's python3-pyftpdlib).

Usage: ftp_server.py ROOT. User "ftpuser", password "pw", home ROOT.
Prints "READY <port>" once listening on loopback.
"""
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

logging.basicConfig(level=logging.ERROR)
authorizer = DummyAuthorizer()
authorizer.add_user("ftpuser", "pw", sys.argv[1], perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
handler.passive_ports = None
server = FTPServer(("127.0.0.1", 0), handler)
print("READY %d" % server.socket.getsockname()[1], flush=True)
server.serve_forever()
