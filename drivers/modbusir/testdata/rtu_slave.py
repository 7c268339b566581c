#!/usr/bin/python3
"""A Modbus RTU slave for the modbusir tests, built on Debian's
python3-pymodbus (3.0): it serves fixed holding and input registers on a
serial port (a pseudo-terminal in the tests) and prints "ready" once the
port is open.

    rtu_slave.py --port /dev/pts/7 --slave 1 --hr 0=373 --hr 1=-55 --ir 20=256

Values may be negative (stored as two's complement) or hex (0x8000).
Registers 0-63 exist; reading past them gets an "illegal data address"
exception. With --stdin, each line "hr ADDR=VALUE" read from standard input
changes a holding register while the slave runs (a person stepping up to
the transmitter and leaving); "ok" is printed once it is set.
"""
import argparse
import asyncio
import sys
import threading

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server import StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer

REGISTERS = 64


def block(pairs):
    values = [0] * REGISTERS
    for pair in pairs:
        addr, value = pair.split("=")
        values[int(addr, 0)] = int(value, 0) & 0xFFFF
    return ModbusSequentialDataBlock(0, values)


async def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", required=True)
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--slave", type=int, default=1)
    ap.add_argument("--hr", action="append", default=[], help="holding register ADDR=VALUE")
    ap.add_argument("--ir", action="append", default=[], help="input register ADDR=VALUE")
    ap.add_argument("--stdin", action="store_true", help="read register changes from stdin")
    args = ap.parse_args()

    # zero_mode: register N of a request is entry N of the block (pymodbus
    # otherwise shifts addresses by one).
    store = ModbusSlaveContext(hr=block(args.hr), ir=block(args.ir), zero_mode=True)
    context = ModbusServerContext(slaves={args.slave: store}, single=False)
    server = await StartAsyncSerialServer(
        context=context, framer=ModbusRtuFramer, port=args.port,
        baudrate=args.baud, ignore_missing_slaves=True, defer_start=True)
    await server.start()
    if server.transport is None:
        print(f"cannot open {args.port}", file=sys.stderr)
        sys.exit(1)
    print("ready", flush=True)
    if args.stdin:
        threading.Thread(target=follow_stdin, args=(store,), daemon=True).start()
    await server.serve_forever()


def follow_stdin(store):
    for line in sys.stdin:
        kind, _, pair = line.strip().partition(" ")
        if kind != "hr":
            continue
        addr, value = pair.split("=")
        store.setValues(3, int(addr, 0), [int(value, 0) & 0xFFFF])
        print("ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
