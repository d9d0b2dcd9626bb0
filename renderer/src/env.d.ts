import type { LabBridge, LabMenuBridge } from '../../shared/lab-api';

declare global {
  interface Window {
    /** Present only in Electron, where the preload exposes the IPC bridge. */
    lab?: LabBridge;
    /** Present only in Electron: the application menu's commands. */
    labMenu?: LabMenuBridge;
  }
}

export {};
