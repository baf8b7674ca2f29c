import path from 'node:path';
import { CameraBus } from '../hardware/camera/camera-bus.ts';
import type { DeviceBus } from '../hardware/device-signal.ts';
import { GpioBus, GpioOutputs } from '../hardware/gpio/gpio-bus.ts';
import { selectGpioLines } from '../hardware/gpio/lines.ts';
import type { OutputDriver } from '../hardware/outputs.ts';
import { SimulatedOutputs } from '../hardware/outputs.ts';
import type { DscIt100Bus } from '../hardware/serial/dsc-it100-bus.ts';
import { SimulatedBus } from '../hardware/simulated-bus.ts';
import type { ZigbeeBus } from '../hardware/zigbee/zigbee-bus.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import type { GatewayConfig } from './config.ts';

/**
 * The bus drivers a configuration needs. The gateway only sees `DeviceBus`: which bus a device is
 * on is this factory's business. The serial and Zigbee drivers (serialport, zigbee-herdsman) are
 * loaded only when the configuration has such a link, so a gateway without them never loads them.
 */
export async function createBuses(
  config: GatewayConfig,
  deps: { clock: Clock; logger: Logger; metrics: Metrics; dataDir: string },
): Promise<{
  simulated: SimulatedBus;
  cameras: CameraBus;
  zigbee: ZigbeeBus | null;
  others: DeviceBus[];
  update(config: GatewayConfig): void;
}> {
  const byBus = (bus: string) => config.devices.filter((d) => d.bus === bus);
  const simulated = new SimulatedBus(
    byBus('simulated').map((d) => d.id),
    deps.clock,
  );
  const others: DeviceBus[] = [];
  const serial = byBus('serial');
  const addressMap = (devices: GatewayConfig['devices']) =>
    new Map(devices.filter((d) => d.bus === 'serial').map((d) => [d.address!, d.id]));
  let dsc: DscIt100Bus | null = null;
  if (serial.length > 0 && config.serial) {
    const { DscIt100Bus } = await import('../hardware/serial/dsc-it100-bus.ts');
    dsc = new DscIt100Bus({
      path: config.serial.path,
      baudRate: config.serial.baudRate,
      devices: addressMap(config.devices),
      clock: deps.clock,
      logger: deps.logger.child({ component: 'dsc-it100' }),
      metrics: deps.metrics,
    });
    others.push(dsc);
  }
  const cameras = new CameraBus(
    byBus('camera').map((d) => {
      const camera = config.cameras.find((c) => c.id === d.address)!;
      return {
        cameraId: camera.id,
        deviceId: d.id,
        eventToken: camera.eventToken!,
        restoreAfterMs: camera.restoreAfterSeconds * 1000,
      };
    }),
    deps.clock,
    deps.logger.child({ component: 'cameras' }),
    deps.metrics,
  );
  others.push(cameras);
  const gpio = byBus('gpio');
  if (gpio.length > 0) {
    others.push(
      new GpioBus({
        zones: gpio.map((d) => ({
          deviceId: d.id,
          pin: d.gpio!.pin,
          tamperPin: d.gpio!.tamperPin,
          wiring: { contact: d.gpio!.contact, pull: d.gpio!.pull, debounceMs: d.gpio!.debounceMs },
        })),
        open: (pins) => selectGpioLines(config.gpio, pins),
        clock: deps.clock,
        logger: deps.logger.child({ component: 'gpio' }),
        metrics: deps.metrics,
      }),
    );
  }
  const zigbeeMap = (devices: GatewayConfig['devices']) =>
    new Map(devices.filter((d) => d.bus === 'zigbee').map((d) => [d.address!, d.id]));
  let zigbee: ZigbeeBus | null = null;
  if (config.zigbee) {
    const { ZigbeeBus } = await import('../hardware/zigbee/zigbee-bus.ts');
    zigbee = new ZigbeeBus({
      dataDir: path.join(deps.dataDir, 'zigbee'),
      adapter: config.zigbee.adapter,
      path: config.zigbee.path,
      baudRate: config.zigbee.baudRate,
      channel: config.zigbee.channel,
      devices: zigbeeMap(config.devices),
      clock: deps.clock,
      logger: deps.logger.child({ component: 'zigbee' }),
      metrics: deps.metrics,
    });
    others.push(zigbee);
  }
  return {
    simulated,
    cameras,
    zigbee,
    others,
    /** Installer changes take effect at once; a serial link added later needs a restart. */
    update(next) {
      simulated.setDevices(next.devices.filter((d) => d.bus === 'simulated').map((d) => d.id));
      dsc?.setDevices(addressMap(next.devices));
      zigbee?.setDevices(zigbeeMap(next.devices));
    },
  };
}

/** The outputs of a configuration: each output id goes to the driver of its bus. */
export function createOutputs(config: GatewayConfig): OutputDriver {
  const simulated = new SimulatedOutputs();
  const gpioPins = new Map(
    config.outputs
      .filter((o) => o.bus === 'gpio')
      .map((o) => [o.id, { pin: o.gpio!.pin, activeLow: o.gpio!.activeLow }]),
  );
  const gpio =
    gpioPins.size > 0 ? new GpioOutputs(gpioPins, (pins) => selectGpioLines(config.gpio, pins)) : null;
  return {
    name: 'outputs',
    set: (outputId, on) =>
      gpio && gpioPins.has(outputId) ? gpio.set(outputId, on) : simulated.set(outputId, on),
  };
}
