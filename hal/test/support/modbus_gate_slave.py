"""An independent Modbus RTU slave (pymodbus 3.x) standing in for a gate controller in tests.

Usage: modbus_gate_slave.py PORT UNIT_ID
Holds coils 0-2, discrete input 0 and input register 0 of the gate controller's map
(hal/src/turnstile/README.md). Reads commands on stdin, one per line:
  di ADDR VALUE   set a discrete input (0/1)
  ir ADDR VALUE   set an input register
  co?             print "co v0 v1 v2" (the coils as the master left them)
Prints "ready" once the server loop runs.
"""
import asyncio
import sys
import threading

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server import StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer


def main():
    port, unit = sys.argv[1], int(sys.argv[2])
    # zero_mode: the address on the wire is the index in the block (no 1-offset).
    slave = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [0] * 8), co=ModbusSequentialDataBlock(0, [0] * 8),
        hr=ModbusSequentialDataBlock(0, [0] * 8), ir=ModbusSequentialDataBlock(0, [0] * 8),
        zero_mode=True)
    context = ModbusServerContext(slaves={unit: slave}, single=False)

    def commands():
        for line in sys.stdin:
            parts = line.split()
            if parts[:1] == ['di']:
                slave.setValues(2, int(parts[1]), [int(parts[2])])
            elif parts[:1] == ['ir']:
                slave.setValues(4, int(parts[1]), [int(parts[2])])
            elif parts[:1] == ['co?']:
                values = slave.getValues(1, 0, 3)
                print('co ' + ' '.join(str(int(v)) for v in values), flush=True)

    threading.Thread(target=commands, daemon=True).start()

    async def serve():
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, lambda: print('ready', flush=True))
        await StartAsyncSerialServer(context=context, framer=ModbusRtuFramer, port=port,
                                     baudrate=9600, bytesize=8, parity='N', stopbits=1)

    asyncio.run(serve())


if __name__ == '__main__':
    main()
