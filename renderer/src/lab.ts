// The renderer's one handle on the host. In Electron the preload has put the IPC bridge on
// `window.lab`; in browser mode the page talks to the server it came from over HTTP/JSON (bytes as base64).

import {
  createLabClient,
  fromWire,
  toWire,
  type LabApi,
  type LabMode,
  type LabReply,
  type LabTransport,
} from '../../shared/lab-api';

const httpTransport: LabTransport = async (method, args) => {
  let response: Response;
  try {
    response = await fetch(new URL(`/api/${method}`, location.href), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ args: toWire(args) }),
    });
  } catch (error) {
    return { error: { code: 'internal', message: `${method}: the StateLab server is unreachable (${String(error)})` } };
  }
  try {
    return fromWire(await response.json()) as LabReply;
  } catch {
    return {
      error: { code: 'internal', message: `${method}: the server answered HTTP ${response.status} without JSON` },
    };
  }
};

function pickTransport(): { mode: LabMode; transport: LabTransport } {
  const bridge = window.lab;
  if (bridge) {
    return {
      mode: 'electron',
      transport: (method, args) => (bridge[method] as (...a: unknown[]) => Promise<LabReply>)(...args),
    };
  }
  return { mode: 'browser', transport: httpTransport };
}

const picked = pickTransport();

export const labMode: LabMode = picked.mode;
export const lab: LabApi = createLabClient(picked.transport);
