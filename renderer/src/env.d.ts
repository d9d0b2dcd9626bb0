import type { LabBridge } from '../../shared/lab-api';

declare global {
  interface Window {
    /** Present only in Electron, where the preload exposes the IPC bridge. */
    lab?: LabBridge;
  }
}

export {};
