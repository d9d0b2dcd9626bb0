// One IPC channel per LabApi method (`lab:<method>`). Every call is checked twice: the sender must be
// the app's own top-level page, and `callLab` validates the method's arguments before the service runs.

import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { IPC_PREFIX, LAB_METHODS, type LabApi, type LabReply } from '../../shared/lab-api.js';
import { callLab } from '../host/lab-service.js';
import { isAppUrl } from './policy.js';

export function registerLabIpc(service: LabApi, devUrl?: string): void {
  for (const method of LAB_METHODS) {
    ipcMain.handle(`${IPC_PREFIX}${method}`, (event, ...args: unknown[]): Promise<LabReply> => {
      if (!isTrustedSender(event, devUrl)) {
        return Promise.resolve({ error: { code: 'bad-arguments', message: `${method}: refused, untrusted sender` } });
      }
      return callLab(service, method, args);
    });
  }
}

function isTrustedSender(event: IpcMainInvokeEvent, devUrl?: string): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url, devUrl);
}
