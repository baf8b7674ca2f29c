import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The sysfs GPIO number of a BCM pin. On Raspberry Pi OS with kernel 6.6+ the SoC GPIO chip has a
 * dynamic base (512 on a Pi 4, 571 reported on a Pi 5), so BCM 17 is not sysfs 17: find the chip
 * whose label is the SoC's pin controller and add its base.
 */
export const SOC_GPIO_LABELS = ['pinctrl-bcm2711', 'pinctrl-bcm2835', 'pinctrl-rp1', 'pinctrl-bcm2712'];

export interface GpioChip {
  readonly name: string;
  readonly label: string;
  readonly base: number;
  readonly ngpio: number;
}

export function listSysfsChips(root = '/sys/class/gpio'): GpioChip[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => name.startsWith('gpiochip'))
    .map((name) => {
      const read = (file: string) => readFileSync(path.join(root, name, file), 'utf8').trim();
      return { name, label: read('label'), base: Number(read('base')), ngpio: Number(read('ngpio')) };
    });
}

export function sysfsNumber(bcm: number, root = '/sys/class/gpio'): number {
  if (!Number.isInteger(bcm) || bcm < 0) throw new Error(`GPIO ${bcm}: not a pin number`);
  const chips = listSysfsChips(root);
  if (chips.length === 0)
    throw new Error(`GPIO ${bcm}: ${root} has no GPIO chips (no sysfs GPIO on this machine)`);
  const soc = chips.find((chip) => SOC_GPIO_LABELS.includes(chip.label));
  if (!soc) {
    throw new Error(
      `GPIO ${bcm}: no Raspberry Pi GPIO controller among ${chips.map((c) => `${c.name} (${c.label})`).join(', ')}`,
    );
  }
  if (bcm >= soc.ngpio) throw new Error(`GPIO ${bcm}: ${soc.label} has only ${soc.ngpio} lines`);
  return soc.base + bcm;
}
