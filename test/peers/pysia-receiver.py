"""A SIA DC-09 receiver from pysiaalarm (an independent implementation), for interop tests.

Usage: pysia-receiver.py PORT ACCOUNT [KEY] [tcp|udp]
Prints `listening` once it accepts connections, then one JSON line per message it received.
"""
import importlib
import json
import os
import sys
import threading
import time

# Debian ships pycryptodome as `Cryptodome`; pysiaalarm imports `Crypto`.
for name in ("Cryptodome", "Cryptodome.Cipher", "Cryptodome.Cipher.AES", "Cryptodome.Cipher._mode_cbc"):
    sys.modules[name.replace("Cryptodome", "Crypto", 1)] = importlib.import_module(name)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pysiaalarm"))

from pysiaalarm import CommunicationsProtocol, SIAAccount, SIAClient  # noqa: E402

port = int(sys.argv[1])
account = sys.argv[2]
key = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
protocol = CommunicationsProtocol.UDP if len(sys.argv) > 4 and sys.argv[4] == "udp" else CommunicationsProtocol.TCP


# pysiaalarm calls back from its connection threads: print() writes the text and its newline apart,
# so two messages at once could land on one line. One write per line, under a lock.
_output = threading.Lock()


def emit(line):
    with _output:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def received(event):
    emit(
        json.dumps(
            {
                "type": event.message_type.value if hasattr(event.message_type, "value") else str(event.message_type),
                "account": event.account,
                "receiver": event.receiver,
                "line": event.line,
                "sequence": event.sequence,
                "code": event.code,
                "ri": event.ri,
                "message": event.message,
                "encrypted": event.encrypted,
                "valid": event.valid_message if hasattr(event, "valid_message") else None,
                "xdata": event.x_data,
                "content": event.content,
            }
        )
    )


client = SIAClient("127.0.0.1", port, [SIAAccount(account, key, allowed_timeband=(40, 20))], received, protocol)
client.start()
emit("listening")
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    client.stop()
