import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as adapterModule from 'zigbee-herdsman/dist/adapter/adapter.js';
import * as Zcl from 'zigbee-herdsman/dist/zspec/zcl/index.js';

/**
 * An in-memory coordinator under the real zigbee-herdsman Controller (installed in place of
 * `Adapter.create`): herdsman's own ZCL parsing, IAS handling, permit-join and leave logic run;
 * only the radio is missing. It records what herdsman sends.
 */
export class FakeZigbeeAdapter extends EventEmitter {
  hasZdoMessageOverhead = false;
  manufacturerID = 0;
  readonly zdo: number[] = [];
  readonly zcl: string[] = [];
  readonly permitJoins: number[] = [];
  #tsn = 1;

  async start() {
    return 'resumed';
  }
  async stop() {}
  async getCoordinatorIEEE() {
    return '0x00124b0000000001';
  }
  async getCoordinatorVersion() {
    return { type: 'fake', meta: {} };
  }
  async reset() {}
  async supportsBackup() {
    return false;
  }
  async backup(): Promise<never> {
    throw new Error('no backup');
  }
  async getNetworkParameters() {
    return { panID: 1, extendedPanID: '0x0000000000000001', channel: 15, nwkUpdateID: 0 };
  }
  async addInstallCode() {}
  waitFor() {
    return { promise: new Promise(() => undefined), cancel: () => undefined };
  }
  async sendZdo(_ieee: string, _nwk: number, clusterId: number) {
    this.zdo.push(clusterId);
    throw new Error('no ZDO answers from the fake coordinator');
  }
  async permitJoin(seconds: number) {
    this.permitJoins.push(seconds);
  }
  async sendZclFrameToEndpoint(ieee: string, _nwk: number, _endpoint: number, frame: Zcl.Frame) {
    this.zcl.push(`${ieee} ${frame.cluster.name}.${frame.command.name} ${JSON.stringify(frame.payload)}`);
    return undefined;
  }
  async sendZclFrameToGroup() {}
  async sendZclFrameToAll() {}
  async setChannelInterPAN() {}
  async sendZclFrameInterPANToIeeeAddr() {}
  async sendZclFrameInterPANBroadcast() {
    return undefined;
  }
  async restoreChannelInterPAN() {}

  /** A frame from a device, as the radio would deliver it. */
  receive(networkAddress: number, cluster: string, command: string, payload: unknown, global = false) {
    const frame = Zcl.Frame.create(
      global ? Zcl.FrameType.GLOBAL : Zcl.FrameType.SPECIFIC,
      Zcl.Direction.SERVER_TO_CLIENT,
      true,
      undefined,
      this.#tsn++,
      command,
      cluster,
      payload as never,
      {},
    );
    const data = frame.toBuffer();
    this.emit('zclPayload', {
      clusterID: frame.cluster.ID,
      address: networkAddress,
      header: Zcl.Header.fromBuffer(data),
      data,
      endpoint: 1,
      linkquality: 180,
      groupID: 0,
      wasBroadcast: false,
      destinationEndpoint: 1,
    });
  }
}

/** Make the next Controller use this adapter. */
export function installFakeAdapter(fake: FakeZigbeeAdapter): void {
  (adapterModule as unknown as { Adapter: { create: () => Promise<unknown> } }).Adapter.create = async () =>
    fake;
}

/** A herdsman database holding the coordinator and already-interviewed IAS devices. */
export function seedDatabase(
  dir: string,
  devices: Array<{ ieeeAddr: string; nwkAddr: number; model: string }>,
): void {
  mkdirSync(dir, { recursive: true });
  const endpoint = (devId: number, inClusterList: number[]) => ({
    profId: 260,
    epId: 1,
    devId,
    inClusterList,
    outClusterList: [],
    clusters: {},
    binds: [],
    configuredReportings: [],
    meta: {},
  });
  const rows = [
    {
      id: 1,
      type: 'Coordinator',
      ieeeAddr: '0x00124b0000000001',
      nwkAddr: 0,
      manufId: 0,
      epList: [1],
      endpoints: { 1: endpoint(5, []) },
      interviewCompleted: true,
      interviewState: 'SUCCESSFUL',
      meta: {},
    },
    ...devices.map((d, index) => ({
      id: index + 2,
      type: 'EndDevice',
      ieeeAddr: d.ieeeAddr,
      nwkAddr: d.nwkAddr,
      manufId: 4151,
      manufName: 'Test',
      powerSource: 'Battery',
      modelId: d.model,
      epList: [1],
      endpoints: { 1: endpoint(1026, [0, 1, 0x0500]) },
      interviewCompleted: true,
      interviewState: 'SUCCESSFUL',
      meta: {},
    })),
  ];
  writeFileSync(path.join(dir, 'database.db'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}
