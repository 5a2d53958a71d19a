// libnfc connection strings for `shuaka run --port`: pn532_uart:DEVICE[:BAUD].

/** A --port value resolved to the serial device and, when the string names one, its speed. */
export interface PortSpec {
  readonly path: string;
  readonly baudRate: number | null;
}

const DRIVER_PN532_UART = 'pn532_uart';

/**
 * Reads `--port`: a device path (`/dev/ttyUSB0`) or a libnfc connection string
 * `pn532_uart:/dev/ttyUSB0` or `pn532_uart:/dev/ttyUSB0:921600` (libnfc's driver:port:speed
 * form, libnfc/drivers/pn532_uart.c). Other libnfc drivers (pn532_i2c, pn532_spi,
 * acr122_usb...) are refused with the reason: this firmware drives a PN532 over a UART only.
 * Returns the spec, or an error text.
 */
export function portSpecParse(port: string): PortSpec | { readonly error: string } {
  const colon = port.indexOf(':');
  // A plain path never has a scheme before its first '/'.
  if (colon < 0 || port.startsWith('/') || port.startsWith('.')) {
    return { path: port, baudRate: null };
  }
  const driver = port.slice(0, colon);
  if (driver !== DRIVER_PN532_UART) {
    return { error: `--port ${port}: libnfc driver '${driver}' is not supported; `
      + `use ${DRIVER_PN532_UART}:DEVICE[:BAUD] (a PN532 on a UART)` };
  }
  const rest = port.slice(colon + 1);
  const speed = /^(.+):([0-9]{1,7})$/.exec(rest);
  const path = speed === null ? rest : (speed[1] ?? '');
  if (path === '' || path.startsWith(':')) {
    return { error: `--port ${port}: no device after '${DRIVER_PN532_UART}:'` };
  }
  return { path, baudRate: speed === null ? null : Number(speed[2]) };
}
