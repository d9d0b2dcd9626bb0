// The preload bridge: exposes `window.lab`, one function per LabApi method, each forwarding to its own
// IPC channel. Nothing else of Electron or Node reaches the page (contextIsolation + sandbox).

import { contextBridge, ipcRenderer } from 'electron';
import { IPC_PREFIX, LAB_METHODS, type LabBridge, type LabReply } from '../../shared/lab-api.js';

const bridge: Record<string, (...args: unknown[]) => Promise<LabReply>> = {};
for (const method of LAB_METHODS) {
  bridge[method] = (...args) => ipcRenderer.invoke(`${IPC_PREFIX}${method}`, ...args) as Promise<LabReply>;
}

contextBridge.exposeInMainWorld('lab', bridge as unknown as LabBridge);
