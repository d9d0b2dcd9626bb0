// The preload bridge: exposes `window.lab`, one function per LabApi method, each forwarding to its own
// IPC channel, and `window.labMenu.on(listener)` for the menu's commands. Nothing else of Electron or Node
// reaches the page (contextIsolation + sandbox); listeners never see the IPC event object.

import { contextBridge, ipcRenderer } from 'electron';
import {
  IPC_PREFIX,
  LAB_METHODS,
  MENU_CHANNEL,
  type LabBridge,
  type LabMenuBridge,
  type LabReply,
  type MenuCommand,
} from '../../shared/lab-api.js';

const bridge: Record<string, (...args: unknown[]) => Promise<LabReply>> = {};
for (const method of LAB_METHODS) {
  bridge[method] = (...args) => ipcRenderer.invoke(`${IPC_PREFIX}${method}`, ...args) as Promise<LabReply>;
}

const menu: LabMenuBridge = {
  on(listener) {
    ipcRenderer.on(MENU_CHANNEL, (_event, command: MenuCommand) => listener(command));
  },
};

contextBridge.exposeInMainWorld('lab', bridge as unknown as LabBridge);
contextBridge.exposeInMainWorld('labMenu', menu);
